import CLEXTensor
import Foundation

/// The architecture of a LLaMA-family model, read from an HF `config.json` (LlamaConfig field
/// names) or from GGUF `llama.*` metadata.
public struct LlamaConfiguration: Sendable, Equatable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var keyValueHeadCount: Int
    public var headDimension: Int
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
        guard headDimension % 2 == 0 else { throw fail("head_dim", "rotary embedding needs an even head dimension, found \(headDimension)") }
        guard rmsNormEpsilon > 0, rmsNormEpsilon.isFinite else { throw fail("rms_norm_eps", "expected a positive number, found \(rmsNormEpsilon)") }
        guard ropeTheta > 1, ropeTheta.isFinite else { throw fail("rope_theta", "expected a number > 1, found \(ropeTheta)") }
        for id in eosTokenIDs + (bosTokenID.map { [$0] } ?? []) where id < 0 || id >= vocabularySize {
            throw fail("bos_token_id/eos_token_id", "token id \(id) outside the vocabulary of \(vocabularySize)")
        }
    }

    /// Number of parameters (weights) of the model.
    public var parameterCount: Int {
        let attention = hiddenSize * headDimension * (2 * headCount + 2 * keyValueHeadCount)
        let mlp = 3 * hiddenSize * intermediateSize
        let perLayer = attention + mlp + 2 * hiddenSize
        return vocabularySize * hiddenSize * (tieWordEmbeddings ? 1 : 2) + layerCount * perLayer + hiddenSize
    }
}
