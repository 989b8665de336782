import CLEXTensor

/// A LLaMA-family decoder: token embedding, blocks of (RMSNorm → grouped-query attention with
/// RoPE or ALiBi → residual, RMSNorm → SwiGLU MLP → residual), final RMSNorm, output head (tied
/// or separate).
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
            let h = backend.rmsNorm(x, weight: layer.attentionNorm, epsilon: c.rmsNormEpsilon)
            let qkv = backend.project(h, [layer.query, layer.key, layer.value])
            let q = backend.rotate(qkv[0], heads: c.headCount)                        // [rows, Hq·D]
            let k = backend.rotate(qkv[1], heads: c.keyValueHeadCount)                // [rows, Hkv·D]
            let attended = backend.attend(layer: i, query: q, key: k, value: qkv[2])  // [rows, Hq·D]
            x = backend.linear(attended, layer.output, adding: x)
            let m = backend.rmsNorm(x, weight: layer.mlpNorm, epsilon: c.rmsNormEpsilon)
            x = backend.linear(backend.gatedUnits(m, gate: layer.gate, up: layer.up), layer.down, adding: x)
        }
        return backend.logits(x, norm: w.finalNorm, epsilon: c.rmsNormEpsilon, head: w.head)
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
