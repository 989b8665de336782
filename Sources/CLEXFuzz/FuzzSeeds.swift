import CLEXFormats
import CLEXModel
import CLEXTensor

/// The built-in seed corpus: tiny valid files of every format, made with the project's own
/// writers (`GGUFWriter`, `SafetensorsWriter`, `Llama2CTokenizerFile.serialized`) so that each
/// one parses, and small enough that a mutation lands in a field most of the time.
///
/// The model in them: vocabulary 24, width 8, 2 query heads and 1 key/value head of dimension 4,
/// MLP 16, one layer.
public enum FuzzSeeds {
    /// The tiny model's configuration.
    public static let configuration = LlamaConfiguration(
        vocabularySize: 24, hiddenSize: 8, intermediateSize: 16, layerCount: 1, headCount: 2, keyValueHeadCount: 1,
        headDimension: 4, maxPositionEmbeddings: 64, tieWordEmbeddings: false, bosTokenID: 1, eosTokenIDs: [2])

    /// Deterministic small values for a tensor of `shape`.
    public static func tensor(_ shape: [Int], seed: UInt64) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        return Tensor.randomUniform(shape, low: -1, high: 1, generator: &generator)
    }

    /// Every weight of the tiny model under `scheme`'s names, tied or not.
    public static func weights(_ scheme: CheckpointNames.Scheme, tied: Bool) -> [(String, Tensor)] {
        let slots = CheckpointNames.slots(layers: configuration.layerCount, tied: tied)
        return slots.enumerated().map { i, slot in
            (CheckpointNames.name(slot, scheme), tensor(CheckpointNames.shape(slot, configuration), seed: UInt64(i)))
        }
    }

    // MARK: GGUF

    /// Byte-level BPE (GPT-2 style) vocabulary: specials, bytes as GPT-2's printable stand-ins
    /// (`Ġ` is the space), and the merges that build "Hello" and " world".
    public static let gpt2Tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "H", "e", "l", "o", "Ġ", "w", "r", "d", "!",
                             "1", "2", "ll", "llo", "He", "Hello", "Ġw", "or", "Ġwor", "ld", "Ġworld", "Ã©"]
    public static let gpt2Merges = ["l l", "ll o", "H e", "He llo", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld"]

    /// SentencePiece vocabulary with byte-fallback tokens.
    public static let sentencePieceTokens = ["<unk>", "<s>", "</s>", "<0x0A>", "<0x41>", "<0xC3>", "<0xA9>", "▁", "H", "e", "l",
                                      "o", "w", "r", "d", "ll", "▁H", "▁He", "▁Hell", "▁Hello", "▁w", "or", "ld", "▁wor",
                                      "▁world"]

    /// Adds a GPT-2 style `tokenizer.ggml.*` vocabulary (`gpt2Tokens`, `gpt2Merges`, pre `smollm`).
    public static func gpt2TokenizerMetadata(_ writer: inout GGUFWriter) {
        writer.addMetadata("tokenizer.ggml.model", .string("gpt2"))
        writer.addMetadata("tokenizer.ggml.pre", .string("smollm"))
        writer.addMetadata("tokenizer.ggml.tokens", .array(elementType: .string, gpt2Tokens.map { .string($0) }))
        writer.addMetadata("tokenizer.ggml.token_type",
                           .array(elementType: .int32, gpt2Tokens.indices.map { .int32($0 < 3 ? 3 : 1) }))
        writer.addMetadata("tokenizer.ggml.merges", .array(elementType: .string, gpt2Merges.map { .string($0) }))
        writer.addMetadata("tokenizer.ggml.bos_token_id", .uint32(1))
        writer.addMetadata("tokenizer.ggml.eos_token_id", .uint32(2))
        writer.addMetadata("tokenizer.ggml.padding_token_id", .uint32(0))
        writer.addMetadata("tokenizer.ggml.add_bos_token", .bool(false))
        writer.addMetadata("tokenizer.chat_template", .string("{% for m in messages %}{{ m['content'] }}{% endfor %}"))
    }

    /// Adds a SentencePiece `tokenizer.ggml.*` vocabulary (`sentencePieceTokens` with scores and types).
    public static func sentencePieceTokenizerMetadata(_ writer: inout GGUFWriter) {
        let types: [Int32] = sentencePieceTokens.indices.map { $0 == 0 ? 2 : $0 < 3 ? 3 : $0 < 7 ? 6 : 1 }
        writer.addMetadata("tokenizer.ggml.model", .string("llama"))
        writer.addMetadata("tokenizer.ggml.tokens", .array(elementType: .string, sentencePieceTokens.map { .string($0) }))
        writer.addMetadata("tokenizer.ggml.scores",
                           .array(elementType: .float32, sentencePieceTokens.indices.map { .float32(-Float($0)) }))
        writer.addMetadata("tokenizer.ggml.token_type", .array(elementType: .int32, types.map { .int32($0) }))
        writer.addMetadata("tokenizer.ggml.bos_token_id", .uint32(1))
        writer.addMetadata("tokenizer.ggml.eos_token_id", .uint32(2))
        writer.addMetadata("tokenizer.ggml.unknown_token_id", .uint32(0))
        writer.addMetadata("tokenizer.ggml.add_space_prefix", .bool(true))
    }

    /// Adds the tiny model's `general.*` and `llama.*` keys.
    public static func llamaMetadata(_ writer: inout GGUFWriter) {
        for (key, value) in configuration.ggufMetadata { writer.addMetadata(key, value) }
        writer.addMetadata("general.name", .string("fuzz seed"))
    }

    /// GGUF seeds: the tiny model in F32 with a GPT-2 tokenizer and YaRN; in F16 (alignment 8)
    /// with a SentencePiece tokenizer, linear scaling and `rope_freqs.weight`; and a file of
    /// quantised tensors and metadata of every type.
    public static func gguf() -> [[UInt8]] {
        var a = GGUFWriter()
        llamaMetadata(&a)
        a.addMetadata("llama.rope.scaling.type", .string("yarn"))
        a.addMetadata("llama.rope.scaling.factor", .float32(4))
        a.addMetadata("llama.rope.scaling.original_context_length", .uint32(16))
        gpt2TokenizerMetadata(&a)
        for (name, t) in weights(.gguf, tied: false) { a.addTensor(name, t) }

        var b = GGUFWriter(alignment: 8, version: 2)
        llamaMetadata(&b)
        b.addMetadata("llama.rope.scaling.type", .string("linear"))
        b.addMetadata("llama.rope.scale_linear", .float64(2))
        sentencePieceTokenizerMetadata(&b)
        for (name, t) in weights(.gguf, tied: true) { b.addTensor(name, t, as: name.hasSuffix("norm.weight") ? .f32 : .f16) }
        b.addTensor("rope_freqs.weight", Tensor(shape: [2], repeating: 1))

        var c = GGUFWriter(alignment: 64)
        c.addMetadata("u8", .uint8(1))
        c.addMetadata("i8", .int8(-1))
        c.addMetadata("u16", .uint16(2))
        c.addMetadata("i16", .int16(-2))
        c.addMetadata("u32", .uint32(3))
        c.addMetadata("i32", .int32(-3))
        c.addMetadata("f32", .float32(0.5))
        c.addMetadata("bool", .bool(true))
        c.addMetadata("string", .string("é"))
        c.addMetadata("u64", .uint64(4))
        c.addMetadata("i64", .int64(-4))
        c.addMetadata("f64", .float64(0.25))
        c.addMetadata("nested", .array(elementType: .array, [.array(elementType: .uint8, [.uint8(1)]),
                                                             .array(elementType: .uint8, [])]))
        for (i, type) in [GGMLType.q8_0, .q4_0, .q4_1, .bf16].enumerated() {
            c.addTensor("t\(i)", tensor([2, 32], seed: UInt64(100 + i)), as: type)
        }
        return [a.serialized(), b.serialized(), c.serialized()]
    }

    /// GGUF files holding only a tokenizer: GPT-2 style and SentencePiece.
    public static func ggufVocabularies() -> [[UInt8]] {
        var a = GGUFWriter()
        gpt2TokenizerMetadata(&a)
        var b = GGUFWriter()
        sentencePieceTokenizerMetadata(&b)
        return [a.serialized(), b.serialized()]
    }

    // MARK: safetensors

    /// The tiny model's `config.json`, for safetensors files that hold its weights.
    public static let tinyConfigJSON = Array("""
        {"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":24,"hidden_size":8,\
        "intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":1,"head_dim":4,\
        "hidden_act":"silu","max_position_embeddings":64,"rms_norm_eps":1e-05,"rope_theta":10000.0,\
        "tie_word_embeddings":false,"bos_token_id":1,"eos_token_id":2,"torch_dtype":"float32"}
        """.utf8)

    /// Safetensors seeds: the tiny model (F32), a mix of F16/BF16/F32 with metadata, and
    /// edge shapes (a scalar, an empty tensor).
    public static func safetensors() -> [[UInt8]] {
        var a = SafetensorsWriter(metadata: ["format": "pt"])
        for (name, t) in weights(.huggingFace, tied: false) { a.addTensor(name, t) }
        var b = SafetensorsWriter(metadata: ["format": "pt", "note": "mixed"])
        b.addTensor("half", tensor([3, 4], seed: 1), as: .f16)
        b.addTensor("brain", tensor([2, 2, 2], seed: 2), as: .bf16)
        b.addTensor("single", tensor([5], seed: 3))
        var c = SafetensorsWriter()
        c.addTensor("scalar", Tensor(scalar: 2))
        c.addTensor("empty", Tensor(zeros: [0, 3]))
        c.addTensor("row", tensor([1, 3], seed: 4), as: .bf16)
        return [a.serialized(), b.serialized(), c.serialized()]
    }

    /// The two shards the index seeds name, by file name.
    public static let shards: [String: [UInt8]] = {
        var first = SafetensorsWriter(metadata: ["format": "pt"])
        first.addTensor("a", tensor([2, 2], seed: 5))
        first.addTensor("b", tensor([3], seed: 6), as: .f16)
        var second = SafetensorsWriter(metadata: ["format": "pt"])
        second.addTensor("c", tensor([2], seed: 7), as: .bf16)
        second.addTensor("d", Tensor(scalar: 1))
        return ["model-00001-of-00002.safetensors": first.serialized(), "model-00002-of-00002.safetensors": second.serialized()]
    }()

    /// `model.safetensors.index.json` seeds over `shards`.
    public static func safetensorsIndexes() -> [[UInt8]] {
        [
            """
            {"metadata":{"total_size":30},"weight_map":{"a":"model-00001-of-00002.safetensors",\
            "b":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors",\
            "d":"model-00002-of-00002.safetensors"}}
            """,
            """
            {
              "metadata": {"format": "pt", "total_size": 30, "ratio": 1.5, "sharded": true, "skipped": null, "list": [1]},
              "weight_map": {
                "d": "model-00002-of-00002.safetensors",
                "a": "model-00001-of-00002.safetensors"
              }
            }
            """,
        ].map { Array($0.utf8) }
    }

    // MARK: config.json

    /// HF config.json seeds: the tiny model with every rope type, both spellings
    /// (`rope_scaling` and transformers v5's `rope_parameters`).
    public static func hfConfigs() -> [[UInt8]] {
        let base = """
            "architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":32,"hidden_size":8,\
            "intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":1,"head_dim":4,\
            "hidden_act":"silu","max_position_embeddings":64,"rms_norm_eps":1e-05,"rope_theta":10000.0,\
            "tie_word_embeddings":true,"bos_token_id":1,"attention_bias":false,"mlp_bias":false
            """
        let variants = [
            "",
            ",\"rope_scaling\":null",
            ",\"rope_scaling\":{\"type\":\"linear\",\"factor\":2.0}",
            ",\"rope_scaling\":{\"rope_type\":\"dynamic\",\"factor\":2.0,\"original_max_position_embeddings\":32}",
            ",\"rope_scaling\":{\"type\":\"ntk\",\"factor\":4}",
            ",\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4.0,\"original_max_position_embeddings\":16,"
                + "\"beta_fast\":32,\"beta_slow\":1,\"mscale\":1,\"mscale_all_dim\":0.5,\"truncate\":false}",
            ",\"rope_scaling\":{\"type\":\"longrope\",\"short_factor\":[1.0,1.5],\"long_factor\":[2.0,4.0],"
                + "\"original_max_position_embeddings\":16,\"attention_factor\":1.1}",
            ",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8.0,\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,"
                + "\"original_max_position_embeddings\":16}",
            ",\"rope_scaling\":{\"type\":\"clex\",\"max_factor\":4,\"param_factor\":1,\"act\":\"tanh\",\"time_dt\":0.5,"
                + "\"factor\":1},\"log_scale\":true",
            ",\"rope_scaling\":{\"type\":\"alibi\"}",
            ",\"rope_parameters\":{\"rope_type\":\"default\",\"rope_theta\":500000.0,\"partial_rotary_factor\":0.5}",
            ",\"original_max_position_embeddings\":16,"
                + "\"rope_scaling\":{\"type\":\"su\",\"short_factor\":[1,1],\"long_factor\":[1,2]}",
        ]
        return variants.enumerated().map { i, variant in
            let eos = i == variants.count - 1 ? ",\"eos_token_id\":[2,3]" : ",\"eos_token_id\":2"
            return Array(("{" + base + eos + variant + "}").utf8)
        }
    }

    // MARK: tokenizer.json

    /// A byte-level BPE tokenizer.json (GPT-2 style).
    public static let byteLevelTokenizerJSON = """
        {"version":"1.0","truncation":null,"padding":null,
         "added_tokens":[{"id":0,"content":"<|endoftext|>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
                         {"id":1,"content":"<|im_start|>","special":true},{"id":2,"content":"<|im_end|>","special":true,"rstrip":true}],
         "normalizer":null,
         "pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Digits","individual_digits":true},
                          {"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}]},
         "post_processor":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true},
         "decoder":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true},
         "model":{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":null,"end_of_word_suffix":null,
                  "fuse_unk":false,"byte_fallback":false,"ignore_merges":false,
                  "vocab":{\(gpt2Tokens.enumerated().map { "\"\($1)\":\($0)" }.joined(separator: ","))},
                  "merges":[\(gpt2Merges.map { "\"\($0)\"" }.joined(separator: ","))]}}
        """

    /// A SentencePiece-style BPE tokenizer.json (Llama 2 style: normalizer, byte fallback).
    public static let sentencePieceTokenizerJSON = """
        {"version":"1.0",
         "added_tokens":[{"id":0,"content":"<unk>","special":true},{"id":1,"content":"<s>","special":true},
                         {"id":2,"content":"</s>","special":true,"lstrip":true}],
         "normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},
                       {"type":"Replace","pattern":{"String":" "},"content":"▁"}]},
         "pre_tokenizer":null,
         "post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},
                           {"Sequence":{"id":"A","type_id":0}}],"pair":[],
                           "special_tokens":{"<s>":{"id":"<s>","ids":[1],"tokens":["<s>"]}}},
         "decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},
                    {"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]},
         "model":{"type":"BPE","unk_token":"<unk>","fuse_unk":true,"byte_fallback":true,
                  "vocab":{\(sentencePieceTokens.enumerated().map { "\"\($1)\":\($0)" }.joined(separator: ","))},
                  "merges":[["▁","H"],["▁H","e"],["l","l"],["▁He","ll"],["▁Hell","o"],["o","r"],["l","d"],
                            ["▁","w"],["▁w","or"],["▁wor","ld"]]}}
        """

    /// A Metaspace tokenizer.json with a Unicode normalizer and a Roberta-style post-processor.
    public static let metaspaceTokenizerJSON = """
        {"added_tokens":[{"id":1,"content":"<s>","special":true},{"id":2,"content":"</s>","special":true},
                         {"id":25,"content":"<extra>","special":false,"normalized":true}],
         "normalizer":{"type":"NFKC"},
         "pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":true},
         "post_processor":{"type":"RobertaProcessing","sep":["</s>",2],"cls":["<s>",1],"trim_offsets":true},
         "decoder":{"type":"Metaspace","replacement":"▁","add_prefix_space":true},
         "model":{"type":"BPE","byte_fallback":true,"unk_token":"<unk>",
                  "vocab":{\(sentencePieceTokens.enumerated().map { "\"\($1)\":\($0)" }.joined(separator: ","))},
                  "merges":["▁ H","▁H e","l l","▁He ll","▁Hell o"]}}
        """

    /// tokenizer.json seeds: byte-level, SentencePiece and Metaspace.
    public static func tokenizerJSONs() -> [[UInt8]] {
        [byteLevelTokenizerJSON, sentencePieceTokenizerJSON, metaspaceTokenizerJSON].map { Array($0.utf8) }
    }

    /// tokenizer_config.json seeds (read with `sentencePieceTokenizerJSON`).
    public static func tokenizerConfigs() -> [[UInt8]] {
        [
            """
            {"add_bos_token":true,"add_eos_token":false,"bos_token":"<s>","eos_token":"</s>","unk_token":"<unk>",\
            "pad_token":null,"chat_template":"{% for m in messages %}{{ m['content'] }}{% endfor %}",\
            "model_max_length":1000000000000000019884624838656,"legacy":false}
            """,
            """
            {"add_bos_token":false,"add_eos_token":true,"bos_token":{"content":"<s>","lstrip":false,"__type":"AddedToken"},
             "eos_token":{"content":"</s>","rstrip":false},"pad_token":"<unk>","clean_up_tokenization_spaces":false}
            """,
        ].map { Array($0.utf8) }
    }

    // MARK: llama2.c

    /// A llama2.c checkpoint of the tiny model (width 8, hidden 16, 1 layer, 2 heads, 1
    /// key/value head, sequence length 4): `shared` stores the vocabulary size positive (the
    /// classifier is the embedding), otherwise negative with a classifier at the end.
    public static func llama2cCheckpoint(vocabulary: Int, shared: Bool) -> [UInt8] {
        let config = Llama2CConfig(dim: 8, hiddenDim: 16, layerCount: 1, headCount: 2, kvHeadCount: 1,
                                   vocabSize: vocabulary, seqLen: 4, sharedClassifier: shared)
        let (d, h, hs) = (config.dim, config.hiddenDim, config.headSize)
        let (q, kv) = (config.headCount * hs, config.kvHeadCount * hs)
        var floats = vocabulary * d                                  // embedding
        floats += config.layerCount * (d + q * d + 2 * kv * d + d * q + d + 3 * h * d)
        floats += d + config.seqLen * hs                             // final norm, freq_cis real + imag
        if !shared { floats += vocabulary * d }
        var bytes: [UInt8] = []
        for field in config.headerFields { withUnsafeBytes(of: field.littleEndian) { bytes.append(contentsOf: $0) } }
        for i in 0..<floats {
            let value = Float(i % 17) / 17 - 0.5
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// llama2.c checkpoint seeds: a shared and an unshared classifier.
    public static func llama2c() -> [[UInt8]] {
        [llama2cCheckpoint(vocabulary: 16, shared: true), llama2cCheckpoint(vocabulary: 12, shared: false)]
    }

    /// llama2.c tokenizer.bin seeds: ids 0–2 are <unk>, <s>, </s>; byte tokens; pieces with
    /// spaces (the exporter wrote "▁" as a space); one piece that is not UTF-8.
    public static func llama2cTokenizers() -> [[UInt8]] {
        let pieces: [[UInt8]] = ["<unk>", "<s>", "</s>", "<0x0A>", "<0x41>", " ", "H", "e", "l", "o", " H", "ll", "llo",
                                 "He", "Hello", " w", "or", "ld", "é"].map { Array($0.utf8) } + [[0xFF]]
        let scores = pieces.indices.map { -Float($0) }
        return [Llama2CTokenizerFile.serialized(maxTokenLength: 7, tokens: pieces, scores: scores),
                Llama2CTokenizerFile.serialized(maxTokenLength: 6, tokens: Array(pieces.prefix(8)),
                                                scores: Array(scores.prefix(8)))]
    }
}
