import CLEXTensor

/// The model families this tool runs, keyed by HF `model_type` and GGUF `general.architecture`
/// (llama.cpp `src/llama-arch.cpp` LLM_ARCH_NAMES). Each family's block, checkpoint names and
/// configuration keys live in its own file under `Families/`; this is the registry.
public enum ModelArchitecture: String, Sendable, CaseIterable {
    /// LLaMA and the decoders that share its block (RMSNorm, SwiGLU, sequential residual):
    /// Mistral, and Qwen2 (q/k/v biases).
    case llama, mistral, qwen2
    /// Mixtral: the LLaMA block with a sparse mixture of SwiGLU experts for its MLP.
    case mixtral
    /// Phi-2: one LayerNorm feeding parallel attention and a GELU MLP, biases everywhere,
    /// partial rotary, an LM-head bias.
    case phi2
    /// GPT-NeoX / Pythia: LayerNorms with bias, fused q/k/v with bias, `rotary_pct`, GELU MLP,
    /// parallel (or sequential) residual.
    case gptNeoX

    /// HF `model_type`.
    public var modelType: String {
        switch self {
        case .llama, .mistral, .qwen2, .mixtral: rawValue
        case .phi2: "phi"
        case .gptNeoX: "gpt_neox"
        }
    }

    /// GGUF `general.architecture` (llama.cpp: LLM_ARCH_LLAMA "llama", LLM_ARCH_PHI2 "phi2",
    /// LLM_ARCH_GPTNEOX "gptneox", LLM_ARCH_QWEN2 "qwen2"; Mistral and Mixtral GGUFs say "llama",
    /// a Mixtral one with `llama.expert_count`).
    public var ggufName: String {
        switch self {
        case .llama, .mistral, .mixtral: "llama"
        case .qwen2: "qwen2"
        case .phi2: "phi2"
        case .gptNeoX: "gptneox"
        }
    }

    /// HF `architectures[0]`: the transformers class that loads a checkpoint of this family.
    public var huggingFaceClass: String {
        switch self {
        case .llama: "LlamaForCausalLM"
        case .mistral: "MistralForCausalLM"
        case .mixtral: "MixtralForCausalLM"
        case .qwen2: "Qwen2ForCausalLM"
        case .phi2: "PhiForCausalLM"
        case .gptNeoX: "GPTNeoXForCausalLM"
        }
    }

    /// The family of HF `model_type` `type`, or nil.
    public init?(modelType type: String) {
        guard let a = Self.allCases.first(where: { $0.modelType == type }) else { return nil }
        self = a
    }

    /// The family of GGUF `general.architecture` `name`, or nil.
    public init?(ggufName name: String) {
        guard let a = Self.allCases.first(where: { $0.ggufName == name }) else { return nil }
        self = a
    }

    /// The accepted HF model types, for error messages.
    public static var supportedModelTypes: String { allCases.map { "\"\($0.modelType)\"" }.joined(separator: ", ") }
    /// The accepted GGUF architectures, for error messages.
    public static var supportedGGUFNames: String {
        Array(Set(allCases.map(\.ggufName))).sorted().map { "\"\($0)\"" }.joined(separator: ", ")
    }

    /// Whether the block is LLaMA's (RMSNorm, SwiGLU MLP, no LayerNorm).
    public var isLlamaBlock: Bool { self == .llama || self == .mistral || self == .qwen2 || self == .mixtral }
}

/// The activation of an MLP: LLaMA's gated SiLU units, or GELU on one up-projection.
public enum MLPActivation: Sendable, Equatable {
    case swiglu
    case gelu(GELUApproximation)

    /// The activation of HF `hidden_act` `name` for a family whose MLP is `gated` (SwiGLU) or
    /// not; nil when unsupported.
    init?(hiddenAct name: String, gated: Bool) {
        switch (name, gated) {
        case ("silu", true), ("swish", true): self = .swiglu
        case ("gelu", false): self = .gelu(.none)
        case ("gelu_new", false), ("gelu_pytorch_tanh", false): self = .gelu(.tanh)
        default: return nil
        }
    }
}
