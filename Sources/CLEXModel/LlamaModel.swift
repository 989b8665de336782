import CLEXTensor

/// A decoder of any supported family (`ModelArchitecture`): token embedding, the family's
/// blocks (`Families/`: LLaMA's RMSNorm → attention → residual, RMSNorm → SwiGLU → residual;
/// Phi-2's and GPT-NeoX's LayerNorm with parallel attention and GELU MLP), final
/// normalisation, output head (tied or separate, with a bias for Phi-2).
///
/// The forward is written once, against `ModelBackend`: `TapeBackend` runs it for training (and
/// as the reference), `InferenceBackend` for prefill and decoding over the stored weights.
public struct LlamaModel: Sendable {
    public var configuration: LlamaConfiguration
    public var parameters: LlamaParameters

    public init(configuration: LlamaConfiguration, parameters: LlamaParameters) {
        self.configuration = configuration
        self.parameters = parameters
    }

    /// The forward pass: logits for `tokens` as `backend` computes them.
    public func forward<B: ModelBackend>(_ backend: B, tokens: [Int32], weights w: LlamaWeightSet<B.Parameter>) -> B.Value {
        let c = configuration
        var x = backend.embed(tokens, table: w.embedding)                              // [rows, E]
        for (i, layer) in w.layers.enumerated() {
            switch c.architecture {
            case .llama, .mistral, .qwen2: x = llamaBlock(backend, x, layer: i, layer)
            case .phi2: x = phi2Block(backend, x, layer: i, layer)
            case .gptNeoX: x = gptNeoXBlock(backend, x, layer: i, layer)
            case .mixtral: x = mixtralBlock(backend, x, layer: i, layer)
            }
        }
        return backend.logits(x, norm: Normalization(weight: w.finalNorm, bias: w.finalNormBias, epsilon: c.rmsNormEpsilon),
                              head: w.head, headBias: w.outputHeadBias)
    }

    /// Self-attention of the normalised block input h [rows, E], before the output projection:
    /// q, k, v (with biases where the block has them), rotated, attended over layer `i`'s cache.
    func attention<B: ModelBackend>(_ backend: B, _ h: B.Value, layer i: Int, _ w: LlamaLayerWeights<B.Parameter>) -> B.Value {
        let c = configuration
        let biases = w[.queryBias] == nil ? [] : [w[.queryBias], w[.keyBias], w[.valueBias]]
        let qkv = backend.project(h, [w.query, w.key, w.value], biases: biases)
        let q = backend.rotate(qkv[0], heads: c.headCount)                             // [rows, Hq·D]
        let k = backend.rotate(qkv[1], heads: c.keyValueHeadCount)                     // [rows, Hkv·D]
        return backend.attend(layer: i, query: q, key: k, value: qkv[2])               // [rows, Hq·D]
    }

    /// The parameters placed on a tape as Float32: variables (gradients wanted) or constants.
    /// Quantised weights are dequantised (training copies them to Float32 once, `floatCopy`).
    public func weights(on tape: Tape, trainable: Bool) -> LlamaWeights {
        parameters.map { _, w in trainable ? tape.variable(w.tensor) : tape.constant(w.tensor) }
    }

    /// Logits [B·T, V] for `tokens` (B sequences of T tokens, row-major), on the tape of `w`.
    ///
    /// - positions: the placement of the T tokens (see `PositionInputs`)
    public func forward(tokens: [Int32], batch: Int = 1, weights w: LlamaWeights, positions p: PositionInputs) -> Variable {
        precondition(batch >= 1 && tokens.count % batch == 0,
                     "forward: \(tokens.count) tokens do not split into \(batch) sequences")
        precondition(p.positions.count == tokens.count / batch,
                     "forward: \(p.positions.count) positions for \(tokens.count / batch) tokens per sequence")
        let backend = TapeBackend(shape: AttentionShape(configuration), batch: batch, positions: p)
        return forward(backend, tokens: tokens, weights: w)
    }
}

/// The model's parameters as `Variable`s on one tape.
public typealias LlamaWeights = LlamaWeightSet<Variable>
