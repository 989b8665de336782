import CLEXFormats
import CLEXModel
import CLEXTokenizer
import Foundation
import Glibc

/// The parsers of outside input, each as a fuzz target. In-memory files are named `fuzz…` in
/// error messages.
extension FuzzTarget {
    /// Every target `clex fuzz all` runs, in order.
    public static let all: [FuzzTarget] = [
        gguf, ggufVocabulary, safetensors, safetensorsIndex, hfConfig, tokenizerJSON, tokenizerConfig, llama2c,
        llama2cTokenizer, serveRequest,
    ]

    /// The target called `name` (the `all` list plus `crash-check`), or nil.
    public static func named(_ name: String) -> FuzzTarget? {
        (all + [crashCheck]).first { $0.name == name }
    }

    /// GGUF: header, metadata, tensor infos and data ranges; every tensor dequantised; with
    /// `general.architecture`, the whole model load (configuration, shapes, weights, tokenizer,
    /// rope keys and `rope_freqs.weight`), then the tokenizer and positional method in use.
    public static let gguf = FuzzTarget(
        name: "gguf", summary: "GGUF files: header, metadata, tensors, and the model loaded from them",
        format: .binary, accepts: { $0.hasSuffix(".gguf") }, seeds: FuzzSeeds.gguf
    ) { input in
        let file = try GGUFFile(file: MappedFile(bytes: input, path: "fuzz.gguf"))
        for info in file.tensorInfos where info.type.elementType != nil { _ = try file.tensor(info.name) }
        if file.metadata.contains("general.architecture") {
            try FuzzExercise.loaded(ModelLoader.load(gguf: file))
        }
    }

    /// A GGUF file's `tokenizer.ggml.*` metadata made into a tokenizer (GPT-2 byte-level BPE
    /// or SentencePiece), which then encodes and decodes.
    public static let ggufVocabulary = FuzzTarget(
        name: "gguf-vocab", summary: "GGUF tokenizer metadata (tokenizer.ggml.*) made into a tokenizer",
        format: .binary, accepts: { $0.hasSuffix(".gguf") }, seeds: FuzzSeeds.ggufVocabularies
    ) { input in
        let file = try GGUFFile(file: MappedFile(bytes: input, path: "fuzz-vocab.gguf"))
        FuzzExercise.tokenizer(try ModelLoader.tokenizer(gguf: file.metadata))
    }

    /// Safetensors: header length, JSON header, dtypes, shapes, offsets, overlaps; every
    /// convertible tensor converted; a file holding the tiny model's weights loaded as a model.
    public static let safetensors = FuzzTarget(
        name: "safetensors", summary: "safetensors files: header, tensors, and a model loaded from them",
        format: .binary,
        dictionary: ["dtype", "shape", "data_offsets", "__metadata__", "F32", "F16", "BF16", "F64", "I64", "BOOL", "F4"],
        accepts: { $0.hasSuffix(".safetensors") }, seeds: FuzzSeeds.safetensors
    ) { input in
        let file = try SafetensorsFile(file: MappedFile(bytes: input, path: "fuzz.safetensors"))
        for info in file.tensorInfos where SafetensorsDType.convertibleTypes.contains(info.dtype) {
            _ = try file.tensor(info.name)
        }
        if file.contains(CheckpointNames.name(.embedding, .huggingFace)) {
            let model = try ModelLoader.load(huggingFace: file, config: Data(FuzzSeeds.tinyConfigJSON),
                                             configSource: "fuzz/config.json") { nil }
            try FuzzExercise.loaded(model)
        }
    }

    /// `model.safetensors.index.json` over two fixed in-memory shards; every tensor read
    /// through the index. The input is pure JSON, so this is also the target of the
    /// project's own JSON parser (`CLEXFormats/Core/JSON.swift`).
    public static let safetensorsIndex = FuzzTarget(
        name: "safetensors-index", summary: "sharded safetensors index JSON (and the project's JSON parser)",
        format: .json,
        dictionary: ["weight_map", "metadata", "total_size", "a", "b", "c", "d", "model-00001-of-00002.safetensors",
                     "model-00002-of-00002.safetensors", "../model-00001-of-00002.safetensors", "/etc/passwd", "x/../y"],
        accepts: { $0.hasSuffix(".index.json") }, seeds: FuzzSeeds.safetensorsIndexes
    ) { input in
        let index = try ShardedSafetensors(index: MappedFile(bytes: input, path: "fuzz/model.safetensors.index.json")) {
            (name) throws(CheckpointError) in
            guard let bytes = FuzzSeeds.shards[name] else {
                throw .io(path: "fuzz/" + name, operation: "open", reason: "No such file or directory")
            }
            return try SafetensorsFile(file: MappedFile(bytes: bytes, path: "fuzz/" + name))
        }
        for name in index.tensorNames {
            _ = try index.shape(of: name)
            _ = try index.tensor(name)
        }
    }

    /// HF `config.json`: the LLaMA configuration, the positional configuration (`rope_scaling`,
    /// `rope_parameters`, every rope type, CLEX), the method made from it, and the config
    /// written back.
    public static let hfConfig = FuzzTarget(
        name: "hf-config", summary: "HF config.json: LLaMA configuration and rope_scaling / rope_parameters",
        format: .json, dictionary: hfConfigWords,
        accepts: { $0 == "config.json" || ($0.hasSuffix("config.json") && !$0.hasSuffix("tokenizer_config.json")) },
        seeds: FuzzSeeds.hfConfigs
    ) { input in
        let data = Data(input)
        let configuration = try LlamaConfiguration(hfConfig: data, source: "fuzz/config.json")
        let positional = try PositionalConfiguration(hfConfig: data, model: configuration, source: "fuzz/config.json")
        _ = LlamaConfiguration.unknownKeys(hfConfig: data)
        try FuzzExercise.positional(positional)
        _ = try configuration.hfConfigJSON(extra: positional.hfConfigMembers(headDimension: configuration.headDimension))
    }

    static let hfConfigWords = [
        "model_type", "llama", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
        "num_attention_heads", "num_key_value_heads", "head_dim", "hidden_act", "silu", "max_position_embeddings",
        "rms_norm_eps", "rope_theta", "tie_word_embeddings", "bos_token_id", "eos_token_id", "rope_scaling",
        "rope_parameters", "type", "rope_type", "factor", "original_max_position_embeddings", "beta_fast", "beta_slow",
        "mscale", "mscale_all_dim", "attention_factor", "truncate", "short_factor", "long_factor", "low_freq_factor",
        "high_freq_factor", "max_factor", "param_factor", "act", "time_dt", "log_scale", "partial_rotary_factor",
        "default", "linear", "dynamic", "ntk", "yarn", "longrope", "su", "llama3", "alibi", "clex", "tanh",
        "attention_bias", "mlp_bias",
    ]

    static let tokenizerWords = [
        "type", "BPE", "vocab", "merges", "added_tokens", "content", "id", "special", "lstrip", "rstrip",
        "single_word", "normalizer", "pre_tokenizer", "decoder", "post_processor", "model", "Sequence", "normalizers",
        "pretokenizers", "decoders", "processors", "Prepend", "prepend", "Replace", "pattern", "String", "Regex",
        "NFC", "NFKC", "ByteLevel", "Digits", "individual_digits", "Metaspace", "replacement", "prepend_scheme",
        "first", "always", "never", "split", "Split", "Isolated", "behavior", "ByteFallback", "Fuse", "Strip",
        "start", "stop", "TemplateProcessing", "single", "SpecialToken", "special_tokens", "ids", "A", "B",
        "RobertaProcessing", "BertProcessing", "cls", "sep", "byte_fallback", "unk_token", "fuse_unk",
        "ignore_merges", "dropout", "add_prefix_space", "use_regex", "<s>", "</s>", "<unk>", "▁", "Ġ",
        "continuing_subword_prefix", "end_of_word_suffix", "WordPiece", "Unigram",
    ]

    /// tokenizer.json: model, vocabulary, merges, added tokens, every pipeline stage; the
    /// tokenizer then encodes and decodes.
    public static let tokenizerJSON = FuzzTarget(
        name: "tokenizer-json", summary: "HF tokenizer.json made into a tokenizer",
        format: .json, dictionary: tokenizerWords, accepts: { $0.hasSuffix("tokenizer.json") },
        seeds: FuzzSeeds.tokenizerJSONs
    ) { input in
        FuzzExercise.tokenizer(try BPETokenizer(tokenizerJSON: Data(input)))
    }

    /// tokenizer_config.json beside a fixed SentencePiece tokenizer.json: BOS/EOS/pad/unk
    /// tokens (strings or objects), add_bos/add_eos, chat template.
    public static let tokenizerConfig = FuzzTarget(
        name: "tokenizer-config", summary: "HF tokenizer_config.json beside a fixed tokenizer.json",
        format: .json,
        dictionary: ["bos_token", "eos_token", "unk_token", "pad_token", "add_bos_token", "add_eos_token", "chat_template",
                     "content", "<s>", "</s>", "<unk>", "▁Hello"],
        accepts: { $0.hasSuffix("tokenizer_config.json") }, seeds: FuzzSeeds.tokenizerConfigs
    ) { input in
        let tokenizer = try BPETokenizer(tokenizerJSON: Data(FuzzSeeds.sentencePieceTokenizerJSON.utf8), config: Data(input))
        FuzzExercise.tokenizer(tokenizer)
    }

    /// llama2.c checkpoints: header, file size, every tensor in both q/k row orders, the model
    /// loaded from it.
    public static let llama2c = FuzzTarget(
        name: "llama2c", summary: "llama2.c .bin checkpoints (both q/k layouts) and the model loaded from them",
        format: .binary, accepts: { $0.hasSuffix(".bin") && $0 != "tokenizer.bin" }, seeds: FuzzSeeds.llama2c
    ) { input in
        let file = MappedFile(bytes: input, path: "fuzz.bin")
        let checkpoint = try Llama2CCheckpoint(file: file)
        for name in checkpoint.tensorNames { _ = try checkpoint.tensor(name) }
        try FuzzExercise.loaded(ModelLoader.load(llama2c: checkpoint) { nil })
        let halfSplit = try Llama2CCheckpoint(file: file, rotaryLayout: .halfSplit)
        for name in halfSplit.tensorNames { _ = try halfSplit.tensor(name) }
    }

    /// llama2.c tokenizer.bin: read to the end of the file and with a vocabulary size, made into
    /// a SentencePiece tokenizer that then encodes and decodes.
    public static let llama2cTokenizer = FuzzTarget(
        name: "llama2c-tokenizer", summary: "llama2.c tokenizer.bin made into a tokenizer",
        format: .binary, accepts: { $0 == "tokenizer.bin" }, seeds: FuzzSeeds.llama2cTokenizers
    ) { input in
        let file = MappedFile(bytes: input, path: "fuzz/tokenizer.bin")
        do { _ = try Llama2CTokenizerFile(file: file, vocabSize: 20) } catch {}
        let tokens = try Llama2CTokenizerFile(file: file)
        FuzzExercise.tokenizer(try ModelLoader.tokenizer(llama2c: tokens))
    }

    /// Not a parser: checks the runner's own crash, hang and memory handling. An input starting
    /// with `CRASH` traps, one starting with `HANG` never returns, one starting with `ALLOC` fills
    /// 1 GiB; anything else is accepted.
    public static let crashCheck = FuzzTarget(
        name: "crash-check", summary: "checks the guard: traps on an input starting CRASH, hangs on HANG, fills 1 GiB on ALLOC",
        format: .binary, accepts: { _ in true }, seeds: { [Array("fine".utf8)] }
    ) { input in
        if input.starts(with: "CRASH".utf8) { fatalError("crash-check: the input starts with CRASH") }
        if input.starts(with: "HANG".utf8) { while true { usleep(10_000) } }
        if input.starts(with: "ALLOC".utf8) {
            let filled = [UInt8](repeating: 1, count: 1 << 30)
            if filled[Int(input.count)] == 0 { throw TokenizerError.malformed("crash-check: unreachable") }
        }
    }
}
