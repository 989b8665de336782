import CLEXTensor

/// How the tokens of one forward pass are placed: what a positional method hands the model.
public struct PositionInputs {
    /// The rotation applied to queries and keys: per-pair frequencies ([r/2], a `Variable` so a
    /// learned method such as CLEX receives gradients) and the factor on cos and sin.
    public struct Rotary {
        public var frequencies: Variable
        public var attentionFactor: Float
        public init(frequencies: Variable, attentionFactor: Float = 1) {
            self.frequencies = frequencies
            self.attentionFactor = attentionFactor
        }
    }

    /// Position of each new token (shared by every sequence of a batch; fractional allowed).
    public var positions: [Float]
    /// The rotation, or nil for a model without RoPE (ALiBi).
    public var rotary: Rotary?
    /// ALiBi slopes per query head, or nil.
    public var alibiSlopes: [Float]?
    /// Multiplier of the queries (CLEX's optional log_scale: ln N / ln L); 1 otherwise.
    public var queryScale: Float

    public init(positions: [Float], rotary: Rotary?, alibiSlopes: [Float]? = nil, queryScale: Float = 1) {
        self.positions = positions
        self.rotary = rotary
        self.alibiSlopes = alibiSlopes
        self.queryScale = queryScale
    }
}
