import CLEXFormats
import CLEXTensor

/// Reading a configuration from GGUF `llama.*` metadata (llama.cpp's key names).
extension LlamaConfiguration {
    /// The configuration of a GGUF file whose `general.architecture` is `llama`. GGUF stores q/k
    /// rows permuted for interleaved rotation, so `rotaryLayout` is `.interleaved`; the output
    /// head is tied when the file has no `output.weight`.
    public init(gguf metadata: CheckpointMetadata, tensorNames: Set<String>) throws {
        let source = metadata.path
        let arch = try metadata.string("general.architecture")
        guard arch == "llama" else {
            throw ConfigurationError(source: source, key: "general.architecture", problem: "expected \"llama\", found \"\(arch)\"")
        }
        let heads = try metadata.int("llama.attention.head_count")
        let embedding = try metadata.int("llama.embedding_length")
        let vocabulary: Int
        if metadata.contains("llama.vocab_size") {
            vocabulary = try metadata.int("llama.vocab_size")
        } else {
            vocabulary = try metadata.array("tokenizer.ggml.tokens").count
        }
        let headDim = try metadata.int("llama.rope.dimension_count", default: embedding / max(heads, 1))
        self.init(vocabularySize: vocabulary,
                  hiddenSize: embedding,
                  intermediateSize: try metadata.int("llama.feed_forward_length"),
                  layerCount: try metadata.int("llama.block_count"),
                  headCount: heads,
                  keyValueHeadCount: try metadata.int("llama.attention.head_count_kv", default: heads),
                  headDimension: headDim,
                  rmsNormEpsilon: try metadata.float("llama.attention.layer_norm_rms_epsilon", default: 1e-5),
                  ropeTheta: Double(try metadata.float("llama.rope.freq_base", default: 10000)),
                  maxPositionEmbeddings: try metadata.int("llama.context_length", default: 2048),
                  tieWordEmbeddings: !tensorNames.contains(CheckpointNames.name(.outputHead, .gguf)),
                  rotaryLayout: .interleaved,
                  bosTokenID: metadata.contains("tokenizer.ggml.bos_token_id") ? try metadata.int("tokenizer.ggml.bos_token_id") : nil,
                  eosTokenIDs: metadata.contains("tokenizer.ggml.eos_token_id") ? [try metadata.int("tokenizer.ggml.eos_token_id")] : [])
        try validate(source: source)
    }
}

/// Writing a configuration as GGUF metadata (the inverse of `init(gguf:tensorNames:)`).
extension LlamaConfiguration {
    /// The `general.architecture` and `llama.*` keys that describe this configuration, for a
    /// `GGUFWriter` (tensors, tokenizer and rope-scaling keys are the writer's to add).
    public var ggufMetadata: [(key: String, value: MetadataValue)] {
        [("general.architecture", .string("llama")),
         ("llama.vocab_size", .uint32(UInt32(vocabularySize))),
         ("llama.embedding_length", .uint32(UInt32(hiddenSize))),
         ("llama.feed_forward_length", .uint32(UInt32(intermediateSize))),
         ("llama.block_count", .uint32(UInt32(layerCount))),
         ("llama.attention.head_count", .uint32(UInt32(headCount))),
         ("llama.attention.head_count_kv", .uint32(UInt32(keyValueHeadCount))),
         ("llama.attention.layer_norm_rms_epsilon", .float32(rmsNormEpsilon)),
         ("llama.rope.dimension_count", .uint32(UInt32(headDimension))),
         ("llama.rope.freq_base", .float32(Float(ropeTheta))),
         ("llama.context_length", .uint32(UInt32(maxPositionEmbeddings)))]
    }
}
