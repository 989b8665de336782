import CLEXTensor

/// The operations a model's forward pass is written in — llama.cpp's graph builders in spirit.
/// A model family writes its block once against this interface (`LlamaModel.forward` and the
/// blocks in `Families/`); a backend decides how each step runs:
///
/// - `TapeBackend` records differentiable ops on a `Tape` (training, and the reference every
///   other backend is tested against);
/// - `InferenceBackend` runs over stored weights of any element type, choosing decode kernels
///   (a few tokens: weights streamed once) or prefill kernels (many tokens: tiled GEMMs), with a
///   KV cache and the session's placement of the tokens.
///
/// Values are activations [rows, features] (rows = every token of every sequence); parameters
/// are weights as the backend reads them. Positions, the rotation and the cache are the
/// backend's: the model only says where they apply.
public protocol ModelBackend {
    associatedtype Value
    associatedtype Parameter

    /// Rows of the token table `table` ([V, E]) for `tokens`: [rows, E].
    func embed(_ tokens: [Int32], table: Parameter) -> Value
    /// The normalisation `n` of each row: RMSNorm, or LayerNorm when `n` has a bias.
    func normalize(_ x: Value, _ n: Normalization<Parameter>) -> Value
    /// x·Wᵢᵀ (+ bᵢ) for each Wᵢ ([Nᵢ, K]) of one input x [rows, K] (q, k and v of a block);
    /// `biases` is empty (no biases: no array is made on the decode path) or holds one optional
    /// bias [Nᵢ] per weight.
    func project(_ x: Value, _ weights: [Parameter], biases: [Parameter?]) -> [Value]
    /// residual + x·Wᵀ (+ bias [N]); the backend may reuse `residual`'s storage for the result.
    func linear(_ x: Value, _ weight: Parameter, bias: Parameter?, adding residual: Value) -> Value
    /// silu(x·W_gateᵀ) ⊙ (x·W_upᵀ): the gated units of a SwiGLU MLP.
    func gatedUnits(_ x: Value, gate: Parameter, up: Parameter) -> Value
    /// act(x·Wᵀ + bias): the units of a dense MLP (`activation` is not `.swiglu`).
    func activatedUnits(_ x: Value, _ weight: Parameter, bias: Parameter?, activation: MLPActivation) -> Value
    /// residual + Σ over each row's top-k experts of weight · expert(x): a sparse mixture of
    /// SwiGLU experts (Mixtral), routed by `experts.router`.
    func mixture(_ x: Value, _ experts: Experts<Parameter>, adding residual: Value) -> Value
    /// The positional rotation of queries or keys x [rows, heads·D] (identity without RoPE).
    func rotate(_ x: Value, heads: Int) -> Value
    /// Causal attention of `query` [rows, Hq·D] over layer `layer`'s earlier keys and values and
    /// this step's `key`, `value` [rows, Hkv·D]: [rows, Hq·D].
    func attend(layer: Int, query: Value, key: Value, value: Value) -> Value
    /// Logits of the final hidden states x [rows, E] (the rows the backend was asked for): the
    /// final normalisation `norm`, then the LM head `head` [V, E] and its bias [V] if any.
    func logits(_ x: Value, norm: Normalization<Parameter>, head: Parameter, headBias: Parameter?) -> Value
}

/// A normalisation layer's parameters: RMSNorm (weight only, HF LlamaRMSNorm) or LayerNorm
/// (weight and bias, PyTorch nn.LayerNorm).
public struct Normalization<P> {
    public var weight: P
    public var bias: P?
    public var epsilon: Float

    public init(weight: P, bias: P? = nil, epsilon: Float) {
        (self.weight, self.bias, self.epsilon) = (weight, bias, epsilon)
    }
}

/// A sparse mixture of SwiGLU experts: the router [n, E] and the experts' matrices stacked by
/// rows (gate and up [n·F, E], down [n·E, F]); each token is sent to its `perToken` best.
public struct Experts<P> {
    public var router: P
    public var gate: P
    public var up: P
    public var down: P
    public var count: Int
    public var perToken: Int

    public init(router: P, gate: P, up: P, down: P, count: Int, perToken: Int) {
        (self.router, self.gate, self.up, self.down, self.count, self.perToken) = (router, gate, up, down, count, perToken)
    }

    /// For each expert, the (row, slot) pairs routed to it, from `Ops.topKSoftmax`'s `experts`
    /// (row-major [rows, perToken]): slot r·k + j holds row r's j-th choice.
    func assignments(_ chosen: [Int32]) -> [(rows: [Int32], slots: [Int32])] {
        var out = Array(repeating: (rows: [Int32](), slots: [Int32]()), count: count)
        for (slot, e) in chosen.enumerated() {
            out[Int(e)].rows.append(Int32(slot / perToken))
            out[Int(e)].slots.append(Int32(slot))
        }
        return out
    }
}

/// The attention geometry of a model, which backends need to split rows into heads.
public struct AttentionShape: Sendable {
    public var queryHeads: Int
    public var keyValueHeads: Int
    public var headDimension: Int
    /// Leading elements of each head that are rotated (the head dimension unless partial).
    public var rotaryDimension: Int
    /// Pairing of rotated elements.
    public var layout: RotaryLayout
    /// Keys each query sees, itself included (`sliding_window`), or nil for all earlier keys.
    public var window: Int?

    public init(_ c: LlamaConfiguration) {
        queryHeads = c.headCount
        keyValueHeads = c.keyValueHeadCount
        headDimension = c.headDimension
        rotaryDimension = c.rotaryDimension
        layout = c.rotaryLayout
        window = c.slidingWindow
    }
}
