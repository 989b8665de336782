import CLEXTensor
import Foundation

/// The architecture of a model of any supported family (`ModelArchitecture`), read from an HF
/// `config.json` or from GGUF metadata. The LLaMA defaults describe a LLaMA block; the other
/// families set what differs (norm kind, MLP, biases, residual, rotary part).
public struct LlamaConfiguration: Sendable, Equatable {
    /// The family: which block the forward runs and which names the checkpoint uses.
    public var architecture: ModelArchitecture = .llama
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var keyValueHeadCount: Int
    public var headDimension: Int
    /// Leading elements of each head that are rotated: head_dim × `partial_rotary_factor`
    /// (Phi-2) or `rotary_pct` (GPT-NeoX); the head dimension otherwise.
    public var rotaryDimension: Int
    /// ε of the block's normalisations (`rms_norm_eps`, or `layer_norm_eps` for LayerNorm).
    public var rmsNormEpsilon: Float
    /// RoPE base b (`rope_theta`).
    public var ropeTheta: Double
    /// The window the model was trained on (`max_position_embeddings`), L in the CLEX spec.
    public var maxPositionEmbeddings: Int
    /// Whether the output head reuses the embedding matrix.
    public var tieWordEmbeddings: Bool
    /// Pairing of rotated elements the checkpoint's q/k rows expect (HF: rotate_half; GGUF as
    /// stored: interleaved).
    public var rotaryLayout: RotaryLayout
    public var bosTokenID: Int?
    public var eosTokenIDs: [Int]
    /// The `rope_scaling` object as given (validated by the positional-method parser), as JSON.
    public var ropeScalingJSON: Data?
    /// The MLP's activation (SwiGLU for the LLaMA block, GELU for Phi-2 and GPT-NeoX).
    public var activation: MLPActivation = .swiglu
    /// Experts of a sparse-mixture MLP (Mixtral `num_local_experts`); 0 for a dense MLP.
    public var expertCount = 0
    /// Experts each token is routed to (Mixtral `num_experts_per_tok`).
    public var expertsPerToken = 0
    /// Keys each query may see (Mistral/Mixtral `sliding_window`; Qwen2's with
    /// `use_sliding_window`), or nil for full causal attention: each query sees itself and the
    /// window − 1 keys before it (`AttentionOptions.window`).
    public var slidingWindow: Int?
    /// Whether attention and MLP read the same block input and add to one residual (Phi-2,
    /// GPT-NeoX's `use_parallel_residual`), rather than one after the other.
    public var parallelResidual = false

    /// A configuration from explicit values (the rest at LLaMA defaults).
    public init(vocabularySize: Int, hiddenSize: Int, intermediateSize: Int, layerCount: Int,
                headCount: Int, keyValueHeadCount: Int? = nil, headDimension: Int? = nil,
                rmsNormEpsilon: Float = 1e-5, ropeTheta: Double = 10000, maxPositionEmbeddings: Int = 2048,
                tieWordEmbeddings: Bool = false, rotaryLayout: RotaryLayout = .rotateHalf,
                bosTokenID: Int? = 1, eosTokenIDs: [Int] = [2], ropeScalingJSON: Data? = nil) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.keyValueHeadCount = keyValueHeadCount ?? headCount
        self.headDimension = headDimension ?? hiddenSize / max(headCount, 1)
        rotaryDimension = self.headDimension
        self.rmsNormEpsilon = rmsNormEpsilon
        self.ropeTheta = ropeTheta
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.tieWordEmbeddings = tieWordEmbeddings
        self.rotaryLayout = rotaryLayout
        self.bosTokenID = bosTokenID
        self.eosTokenIDs = eosTokenIDs
        self.ropeScalingJSON = ropeScalingJSON
    }

    /// Checks every size for consistency; `source` names the origin in the error.
    public func validate(source: String) throws {
        func fail(_ key: String, _ problem: String) -> ConfigurationError {
            ConfigurationError(source: source, key: key, problem: problem)
        }
        for (key, value) in [("vocab_size", vocabularySize), ("hidden_size", hiddenSize),
                             ("intermediate_size", intermediateSize), ("num_hidden_layers", layerCount),
                             ("num_attention_heads", headCount), ("num_key_value_heads", keyValueHeadCount),
                             ("head_dim", headDimension), ("max_position_embeddings", maxPositionEmbeddings)] {
            guard value > 0 else { throw fail(key, "expected a positive integer, found \(value)") }
            guard value <= 1 << 24 else { throw fail(key, "\(value) is larger than this tool supports (2^24)") }
        }
        guard headCount % keyValueHeadCount == 0 else {
            throw fail("num_key_value_heads", "\(keyValueHeadCount) must divide num_attention_heads (\(headCount))")
        }
        guard rotaryDimension % 2 == 0, rotaryDimension >= 2, rotaryDimension <= headDimension else {
            let key = rotaryDimension == headDimension ? "head_dim" : "partial_rotary_factor"
            throw fail(key, "the rotary part of a head must be even, at least 2 and at most head_dim (\(headDimension)), found \(rotaryDimension)")
        }
        if let window = slidingWindow, window < 1 { throw fail("sliding_window", "expected a positive integer, found \(window)") }
        if architecture == .mixtral {
            guard expertCount >= 1, expertCount <= 1024 else { throw fail("num_local_experts", "expected 1 … 1024 experts, found \(expertCount)") }
            guard expertsPerToken >= 1, expertsPerToken <= expertCount else {
                throw fail("num_experts_per_tok", "expected 1 … \(expertCount) (num_local_experts), found \(expertsPerToken)")
            }
        }
        guard rmsNormEpsilon > 0, rmsNormEpsilon.isFinite else { throw fail("rms_norm_eps", "expected a positive number, found \(rmsNormEpsilon)") }
        guard ropeTheta > 1, ropeTheta.isFinite else { throw fail("rope_theta", "expected a number > 1, found \(ropeTheta)") }
        for id in eosTokenIDs + (bosTokenID.map { [$0] } ?? []) where id < 0 || id >= vocabularySize {
            throw fail("bos_token_id/eos_token_id", "token id \(id) outside the vocabulary of \(vocabularySize)")
        }
    }

    /// Number of parameters (weights and biases) of the model.
    public var parameterCount: Int {
        CheckpointNames.slots(for: self).reduce(0) { $0 + CheckpointNames.shape($1, self).reduce(1, *) }
    }
}
