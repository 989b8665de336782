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
    /// x·Wᵢᵀ (+ bᵢ) for each Wᵢ ([Nᵢ, K]) of one input x [rows, K] (q, k and v of a block), with
    /// `biases[i]` ([Nᵢ]) where given.
    func project(_ x: Value, _ weights: [Parameter], biases: [Parameter?]) -> [Value]
    /// residual + x·Wᵀ (+ bias [N]); the backend may reuse `residual`'s storage for the result.
    func linear(_ x: Value, _ weight: Parameter, bias: Parameter?, adding residual: Value) -> Value
    /// silu(x·W_gateᵀ) ⊙ (x·W_upᵀ): the gated units of a SwiGLU MLP.
    func gatedUnits(_ x: Value, gate: Parameter, up: Parameter) -> Value
    /// act(x·Wᵀ + bias): the units of a dense MLP (`activation` is not `.swiglu`).
    func activatedUnits(_ x: Value, _ weight: Parameter, bias: Parameter?, activation: MLPActivation) -> Value
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

/// The attention geometry of a model, which backends need to split rows into heads.
public struct AttentionShape: Sendable {
    public var queryHeads: Int
    public var keyValueHeads: Int
    public var headDimension: Int
    /// Leading elements of each head that are rotated (the head dimension unless partial).
    public var rotaryDimension: Int
    /// Pairing of rotated elements.
    public var layout: RotaryLayout

    public init(_ c: LlamaConfiguration) {
        queryHeads = c.headCount
        keyValueHeads = c.keyValueHeadCount
        headDimension = c.headDimension
        rotaryDimension = c.rotaryDimension
        layout = c.rotaryLayout
    }
}
