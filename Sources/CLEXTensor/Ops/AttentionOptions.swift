/// How `Ops.attention` scores, masks and biases query–key pairs.
///
/// With T queries and S keys (S ≥ T when causal), positions default to the KV-cache layout: the
/// queries are the last T of the S positions, so query i sits at position i + (S − T) and key j
/// at position j. Causal masking is by index under that layout — query i sees keys
/// j ≤ i + (S − T) — whatever explicit positions say; explicit positions only feed ALiBi. A
/// sliding window of W keeps, of those, the last W: j > i + (S − T) − W.
public struct AttentionOptions: Sendable, Equatable {
    /// Multiplier of q·k; nil means 1/√(head dimension).
    public var scale: Float?
    /// Whether query i may only see keys j ≤ i + (S − T).
    public var causal: Bool
    /// One ALiBi slope per query head ([Hq]); the logit of (query i, key j) in head h gets
    /// −slope[h]·(queryPosition[i] − keyPosition[j]). nil: no bias. See `Ops.alibiSlopes`.
    public var alibiSlopes: [Float]?
    /// Position of each query ([T], fractional allowed) for ALiBi; nil: i + (S − T).
    public var queryPositions: [Float]?
    /// Position of each key ([S], fractional allowed) for ALiBi; nil: j.
    public var keyPositions: [Float]?
    /// Keys each query sees under a causal mask, itself included (Mistral's `sliding_window`:
    /// transformers masks key j for query i when i − j ≥ W, as llama.cpp does); nil: all earlier
    /// keys.
    public var window: Int?

    /// Options with the given fields; the defaults are causal, 1/√D scale, no bias.
    public init(scale: Float? = nil, causal: Bool = true, alibiSlopes: [Float]? = nil,
                queryPositions: [Float]? = nil, keyPositions: [Float]? = nil, window: Int? = nil) {
        self.scale = scale
        self.causal = causal
        self.alibiSlopes = alibiSlopes
        self.queryPositions = queryPositions
        self.keyPositions = keyPositions
        self.window = window
    }

    /// The score multiplier for head dimension `headDim`: `scale`, or 1/√headDim when nil.
    public func resolvedScale(headDim: Int) -> Float {
        scale ?? 1 / Float(max(headDim, 1)).squareRoot()
    }
}
