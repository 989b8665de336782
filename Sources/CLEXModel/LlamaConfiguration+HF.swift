import Foundation

/// Reading and writing HF `config.json` (transformers' config field names of each family).
extension LlamaConfiguration {
    /// Keys of the supported configs and of PretrainedConfig that this tool reads or may safely
    /// ignore. Anything else is reported by `unknownKeys` (real configs carry extra bookkeeping
    /// keys, so unknown keys are listed, not rejected).
    static let knownKeys: Set<String> = [
        "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
        "num_key_value_heads", "head_dim", "hidden_act", "max_position_embeddings", "initializer_range",
        "rms_norm_eps", "use_cache", "pad_token_id", "bos_token_id", "eos_token_id", "pretraining_tp",
        "tie_word_embeddings", "rope_theta", "rope_scaling", "rope_parameters", "attention_bias",
        "attention_dropout", "mlp_bias", "architectures", "model_type", "torch_dtype", "dtype",
        "transformers_version", "_name_or_path", "log_scale", "use_flashattn", "rope_type",
        "partial_rotary_factor", "original_max_position_embeddings", "auto_map",
        // Mistral, Qwen2
        "sliding_window", "use_sliding_window", "max_window_layers",
        // Phi-2
        "layer_norm_eps", "resid_pdrop", "embd_pdrop", "qk_layernorm",
        // GPT-NeoX
        "rotary_pct", "rotary_emb_base", "use_parallel_residual", "hidden_dropout", "classifier_dropout",
        "layer_norm_epsilon",
        // Mixtral
        "num_local_experts", "num_experts_per_tok", "router_aux_loss_coef", "output_router_logits", "router_jitter_noise",
    ]

    /// Parses an HF config.json of any supported `model_type` (absent: llama). Features this
    /// tool does not implement are refused with an error naming the key.
    public init(hfConfig data: Data, source: String) throws {
        let f = try JSONFields(data: data, source: source)
        let type = try f.string("model_type") ?? "llama"
        guard let architecture = ModelArchitecture(modelType: type) else {
            throw f.error("model_type", "unsupported model type \"\(type)\" (supported: \(ModelArchitecture.supportedModelTypes))")
        }
        func required(_ key: String) throws -> Int {
            guard let v = try f.int(key) else { throw f.error(key, "required key is missing") }
            return v
        }
        let gated = architecture.isLlamaBlock
        let act = try f.string("hidden_act") ?? (gated ? "silu" : architecture == .phi2 ? "gelu_new" : "gelu")
        guard let activation = MLPActivation(hiddenAct: act, gated: gated) else {
            let accepted = gated ? "\"silu\" (SwiGLU)" : "\"gelu\", \"gelu_new\", \"gelu_pytorch_tanh\""
            throw f.error("hidden_act", "\"\(act)\" is not supported for \(type) (supported: \(accepted))")
        }
        if architecture.isLlamaBlock {
            if try f.bool("attention_bias") == true { throw f.error("attention_bias", "attention biases are not supported for \(type)") }
            if try f.bool("mlp_bias") == true { throw f.error("mlp_bias", "MLP biases are not supported") }
        }
        if try f.bool("qk_layernorm") == true { throw f.error("qk_layernorm", "q/k LayerNorms are not supported") }
        if architecture == .gptNeoX, try f.bool("attention_bias") == false {
            throw f.error("attention_bias", "GPT-NeoX without q/k/v biases is not supported")
        }
        let heads = try required("num_attention_heads")
        // Transformers v5 keeps rope_theta inside rope_parameters.
        let nestedTheta = try f.object("rope_parameters")?.double("rope_theta")
        if let theta = nestedTheta, !(theta > 1) {
            throw f.error("rope_parameters.rope_theta", "expected a number > 1, found \(theta)")
        }
        let theta = try nestedTheta ?? f.double("rope_theta") ?? f.double("rotary_emb_base") ?? 10000
        let epsilon = try f.double("rms_norm_eps") ?? f.double("layer_norm_eps") ?? f.double("layer_norm_epsilon")
            ?? (architecture.isLlamaBlock ? 1e-6 : 1e-5)
        self.init(vocabularySize: try required("vocab_size"),
                  hiddenSize: try required("hidden_size"),
                  intermediateSize: try required("intermediate_size"),
                  layerCount: try required("num_hidden_layers"),
                  headCount: heads,
                  keyValueHeadCount: try f.int("num_key_value_heads"),
                  headDimension: try f.int("head_dim"),
                  rmsNormEpsilon: Float(epsilon),
                  ropeTheta: theta,
                  maxPositionEmbeddings: try f.int("max_position_embeddings") ?? 2048,
                  tieWordEmbeddings: try f.bool("tie_word_embeddings") ?? false,
                  rotaryLayout: .rotateHalf,
                  bosTokenID: try f.int("bos_token_id"),
                  eosTokenIDs: try f.ints("eos_token_id") ?? [],
                  ropeScalingJSON: nil)
        self.architecture = architecture
        self.activation = activation
        if architecture == .mixtral {
            expertCount = try f.int("num_local_experts") ?? 8
            expertsPerToken = try f.int("num_experts_per_tok") ?? 2
        }
        // transformers applies Mistral's and Mixtral's window whenever it is set, Qwen2's only
        // with use_sliding_window.
        let qwenWindow = try f.bool("use_sliding_window") ?? false
        if architecture == .mistral || architecture == .mixtral || (architecture == .qwen2 && qwenWindow) {
            slidingWindow = try f.int("sliding_window")
        }
        let parallel = try f.bool("use_parallel_residual") ?? true
        parallelResidual = architecture == .phi2 || (architecture == .gptNeoX && parallel)
        // The rotated part of each head: int(head_dim × factor), as HF's Phi and GPT-NeoX
        // attention compute it (Phi's default factor is 0.5, GPT-NeoX's rotary_pct 0.25).
        let factorKey = architecture == .gptNeoX ? "rotary_pct" : "partial_rotary_factor"
        let defaultFactor = architecture == .phi2 ? 0.5 : architecture == .gptNeoX ? 0.25 : 1
        let nestedFactor = try f.object("rope_parameters")?.double("partial_rotary_factor")
        let factor = try nestedFactor ?? f.double(factorKey) ?? defaultFactor
        guard factor > 0 && factor <= 1 else { throw f.error(factorKey, "expected a number in (0, 1], found \(factor)") }
        rotaryDimension = Int(Double(headDimension) * factor)
        if let scaling = f.object["rope_scaling"] ?? f.object["rope_parameters"], !(scaling is NSNull) {
            guard JSONSerialization.isValidJSONObject(scaling) else {
                throw f.error("rope_scaling", "expected an object")
            }
            ropeScalingJSON = try JSONSerialization.data(withJSONObject: scaling, options: [.sortedKeys])
        }
        try validate(source: source)
    }

    /// Keys of an HF config that this tool neither reads nor knows to be irrelevant.
    public static func unknownKeys(hfConfig data: Data) -> [String] {
        guard let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [] }
        return o.keys.filter { !knownKeys.contains($0) }.sorted()
    }

    /// The config.json transformers loads for this family (`LlamaForCausalLM`, `PhiForCausalLM`,
    /// …), with `extra` members merged in (e.g. CLEX's `log_scale`).
    public func hfConfigJSON(extra: [String: Any] = [:]) throws -> Data {
        var o: [String: Any] = [
            "architectures": [architecture.huggingFaceClass], "model_type": architecture.modelType,
            "vocab_size": vocabularySize, "hidden_size": hiddenSize, "intermediate_size": intermediateSize,
            "num_hidden_layers": layerCount, "num_attention_heads": headCount,
            "num_key_value_heads": keyValueHeadCount, "max_position_embeddings": maxPositionEmbeddings,
            "rope_theta": ropeTheta, "tie_word_embeddings": tieWordEmbeddings, "torch_dtype": "float32",
        ]
        let epsilon = Double("\(rmsNormEpsilon)") ?? Double(rmsNormEpsilon)
        // A factor whose int(head_dim × factor) is the rotary dimension again (HF's rule).
        var factor = Double(rotaryDimension) / Double(headDimension)
        while Int(Double(headDimension) * factor) < rotaryDimension { factor = factor.nextUp }
        let act: String
        switch activation {
        case .swiglu: act = "silu"
        case .gelu(.none): act = "gelu"
        case .gelu(.tanh): act = "gelu_new"
        }
        o["hidden_act"] = act
        switch architecture {
        case .llama, .mistral, .qwen2, .mixtral:
            o["head_dim"] = headDimension
            o["rms_norm_eps"] = epsilon
            if architecture == .llama { (o["attention_bias"], o["mlp_bias"]) = (false, false) }
            if rotaryDimension != headDimension { o["partial_rotary_factor"] = factor }
            if architecture == .mixtral { (o["num_local_experts"], o["num_experts_per_tok"]) = (expertCount, expertsPerToken) }
            if architecture == .mistral || architecture == .mixtral { o["sliding_window"] = slidingWindow ?? NSNull() }
        case .phi2:
            (o["layer_norm_eps"], o["partial_rotary_factor"], o["qk_layernorm"]) = (epsilon, factor, false)
        case .gptNeoX:
            (o["layer_norm_eps"], o["rotary_pct"], o["rotary_emb_base"]) = (epsilon, factor, ropeTheta)
            (o["use_parallel_residual"], o["attention_bias"]) = (parallelResidual, true)
        }
        if let bos = bosTokenID { o["bos_token_id"] = bos }
        if eosTokenIDs.count == 1 { o["eos_token_id"] = eosTokenIDs[0] } else if !eosTokenIDs.isEmpty { o["eos_token_id"] = eosTokenIDs }
        if let scaling = ropeScalingJSON, let obj = try? JSONSerialization.jsonObject(with: scaling) { o["rope_scaling"] = obj }
        for (k, v) in extra { o[k] = v }
        return try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys])
    }
}
