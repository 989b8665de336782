import CLEXFormats
import CLEXTensor

/// Reading a configuration from GGUF metadata (llama.cpp's `{arch}.*` key names,
/// `src/llama-arch.cpp` LLM_KV_*): general.architecture "llama" (LLaMA, Mistral, and Mixtral
/// when `llama.expert_count` is set), "qwen2", "phi2" or "gptneox".
extension LlamaConfiguration {
    /// The configuration of a GGUF file of a supported architecture. llama.cpp's converter
    /// permutes the q/k rows of "llama" models for interleaved rotation (`.interleaved`); Qwen2,
    /// Phi-2 and GPT-NeoX use its NEOX rotation on rows as HF stores them (`.rotateHalf`). The
    /// output head is tied when the file has no `output.weight`.
    public init(gguf metadata: CheckpointMetadata, tensorNames: Set<String>) throws {
        let source = metadata.path
        let name = try metadata.string("general.architecture")
        guard var architecture = ModelArchitecture(ggufName: name) else {
            throw ConfigurationError(source: source, key: "general.architecture",
                                     problem: "unsupported architecture \"\(name)\" (supported: \(ModelArchitecture.supportedGGUFNames))")
        }
        let k = name + "."
        if architecture == .llama, metadata.contains(k + "expert_count"), try metadata.int(k + "expert_count") > 0 {
            architecture = .mixtral
        }
        let heads = try metadata.int(k + "attention.head_count")
        let embedding = try metadata.int(k + "embedding_length")
        let vocabulary: Int
        if metadata.contains(k + "vocab_size") {
            vocabulary = try metadata.int(k + "vocab_size")
        } else {
            vocabulary = try metadata.array("tokenizer.ggml.tokens").count
        }
        // Head dimension: attention.key_length, else (llama, as older files) rope.dimension_count,
        // else width / heads; the rotated part: rope.dimension_count, else the whole head.
        let rotaryKey = k + "rope.dimension_count"
        let keyLength = metadata.contains(k + "attention.key_length") ? try metadata.int(k + "attention.key_length") : nil
        let rotary = metadata.contains(rotaryKey) ? try metadata.int(rotaryKey) : nil
        let headDim = keyLength ?? (architecture.isLlamaBlock ? rotary : nil) ?? embedding / max(heads, 1)
        let layerNorm = architecture == .phi2 || architecture == .gptNeoX
        let epsilonKey = k + (layerNorm ? "attention.layer_norm_epsilon" : "attention.layer_norm_rms_epsilon")
        self.init(vocabularySize: vocabulary,
                  hiddenSize: embedding,
                  intermediateSize: try metadata.int(k + "feed_forward_length"),
                  layerCount: try metadata.int(k + "block_count"),
                  headCount: heads,
                  keyValueHeadCount: try metadata.int(k + "attention.head_count_kv", default: heads),
                  headDimension: headDim,
                  rmsNormEpsilon: try metadata.float(epsilonKey, default: 1e-5),
                  ropeTheta: Double(try metadata.float(k + "rope.freq_base", default: 10000)),
                  maxPositionEmbeddings: try metadata.int(k + "context_length", default: 2048),
                  tieWordEmbeddings: !tensorNames.contains(CheckpointNames.name(.outputHead, .gguf, architecture)),
                  rotaryLayout: name == "llama" ? .interleaved : .rotateHalf,
                  bosTokenID: metadata.contains("tokenizer.ggml.bos_token_id") ? try metadata.int("tokenizer.ggml.bos_token_id") : nil,
                  eosTokenIDs: metadata.contains("tokenizer.ggml.eos_token_id") ? [try metadata.int("tokenizer.ggml.eos_token_id")] : [])
        self.architecture = architecture
        rotaryDimension = rotary ?? headDim
        switch architecture {
        case .phi2: (activation, parallelResidual) = (.gelu(.tanh), true)
        case .gptNeoX:
            activation = .gelu(.none)
            parallelResidual = try metadata.bool(k + "use_parallel_residual", default: true)
        case .mixtral:
            expertCount = try metadata.int(k + "expert_count")
            expertsPerToken = try metadata.int(k + "expert_used_count", default: 2)
        case .llama, .mistral, .qwen2: break
        }
        try validate(source: source)
    }
}

/// Writing a configuration as GGUF metadata (the inverse of `init(gguf:tensorNames:)`).
extension LlamaConfiguration {
    /// The `general.architecture` and `{arch}.*` keys that describe this configuration, for a
    /// `GGUFWriter` (tensors, tokenizer and rope-scaling keys are the writer's to add).
    public var ggufMetadata: [(key: String, value: MetadataValue)] {
        let name = architecture.ggufName
        let k = name + "."
        let layerNorm = architecture == .phi2 || architecture == .gptNeoX
        var entries: [(key: String, value: MetadataValue)] = [
            ("general.architecture", .string(name)),
            (k + "vocab_size", .uint32(UInt32(vocabularySize))),
            (k + "embedding_length", .uint32(UInt32(hiddenSize))),
            (k + "feed_forward_length", .uint32(UInt32(intermediateSize))),
            (k + "block_count", .uint32(UInt32(layerCount))),
            (k + "attention.head_count", .uint32(UInt32(headCount))),
            (k + "attention.head_count_kv", .uint32(UInt32(keyValueHeadCount))),
            (k + (layerNorm ? "attention.layer_norm_epsilon" : "attention.layer_norm_rms_epsilon"), .float32(rmsNormEpsilon)),
            (k + "rope.dimension_count", .uint32(UInt32(rotaryDimension))),
            (k + "rope.freq_base", .float32(Float(ropeTheta))),
            (k + "context_length", .uint32(UInt32(maxPositionEmbeddings))),
        ]
        if headDimension != rotaryDimension || headDimension * headCount != hiddenSize {
            entries.append((k + "attention.key_length", .uint32(UInt32(headDimension))))
            entries.append((k + "attention.value_length", .uint32(UInt32(headDimension))))
        }
        if architecture == .mixtral {
            entries.append((k + "expert_count", .uint32(UInt32(expertCount))))
            entries.append((k + "expert_used_count", .uint32(UInt32(expertsPerToken))))
        }
        if architecture == .gptNeoX { entries.append((k + "use_parallel_residual", .bool(parallelResidual))) }
        return entries
    }
}
