import CLEXTensor

/// A LLaMA-family decoder: token embedding, blocks of (RMSNorm → grouped-query attention with
/// RoPE or ALiBi → residual, RMSNorm → SwiGLU MLP → residual), final RMSNorm, output head (tied
/// or separate).
///
/// One forward, written with `Variable` ops, serves training (weights as tape variables, batches
/// of sequences) and is the reference for inference (weights as tape constants, with a
/// `KVCache`); `InferenceSession` runs the same computation without a tape, through `infer`
/// (Inference/LlamaModel+Inference.swift), tested against this one.
public struct LlamaModel: Sendable {
    public var configuration: LlamaConfiguration
    public var parameters: LlamaParameters

    public init(configuration: LlamaConfiguration, parameters: LlamaParameters) {
        self.configuration = configuration
        self.parameters = parameters
    }

    /// The parameters placed on a tape: as variables (gradients wanted) or constants.
    public func weights(on tape: Tape, trainable: Bool) -> LlamaWeights {
        LlamaWeights(parameters, tape: tape, trainable: trainable)
    }

    /// Logits [B·T, V] for `tokens` (B sequences of T tokens, row-major).
    ///
    /// - positions: the placement of the T new tokens (see `PositionInputs`)
    /// - cache: for B = 1, the keys/values of earlier tokens; this step's are appended to it.
    ///   The caller re-rotates the cache (`KVCache.rerotate`) when the frequencies changed.
    public func forward(tokens: [Int32], batch: Int = 1, weights w: LlamaWeights,
                        positions p: PositionInputs, cache: KVCache? = nil) -> Variable {
        let c = configuration
        precondition(batch >= 1 && tokens.count % batch == 0,
                     "forward: \(tokens.count) tokens do not split into \(batch) sequences")
        let t = tokens.count / batch
        precondition(p.positions.count == t, "forward: \(p.positions.count) positions for \(t) tokens per sequence")
        precondition(cache == nil || batch == 1, "forward: a KV cache holds one sequence, got a batch of \(batch)")
        let (hq, hkv, d) = (c.headCount, c.keyValueHeadCount, c.headDimension)
        var options = AttentionOptions(alibiSlopes: p.alibiSlopes)
        if p.alibiSlopes != nil {
            options.queryPositions = p.positions
            options.keyPositions = (cache?.positions ?? []) + p.positions
        }

        var x = w.embedding.embedding(ids: tokens)                       // [B·T, E]
        for (i, layer) in w.layers.enumerated() {
            let h = x.rmsNorm(weight: layer.attentionNorm, epsilon: c.rmsNormEpsilon)
            var q = h.matmul(layer.query, transposeB: true).reshaped([batch, t, hq, d])
            var k = h.matmul(layer.key, transposeB: true).reshaped([batch, t, hkv, d])
            let v = h.matmul(layer.value, transposeB: true).reshaped([batch, t, hkv, d])
            if let r = p.rotary {
                q = q.rope(positions: p.positions, frequencies: r.frequencies,
                           attentionFactor: r.attentionFactor, layout: c.rotaryLayout)
                k = k.rope(positions: p.positions, frequencies: r.frequencies,
                           attentionFactor: r.attentionFactor, layout: c.rotaryLayout)
            }
            if p.queryScale != 1 { q = q.scaled(by: p.queryScale) }
            let attended: Variable
            if let cache {
                cache.append(layer: i, keys: k.value.reshaped([t, hkv, d]), values: v.value.reshaped([t, hkv, d]))
                let (keys, values) = cache.contents(layer: i, pending: t)
                let tape = x.tape
                attended = q.attention(keys: tape.constant(keys.reshaped([1, keys.shape[0], hkv, d])),
                                       values: tape.constant(values.reshaped([1, values.shape[0], hkv, d])),
                                       options: options)
            } else {
                attended = q.attention(keys: k, values: v, options: options)
            }
            x = x + attended.reshaped([batch * t, hq * d]).matmul(layer.output, transposeB: true)
            let m = x.rmsNorm(weight: layer.mlpNorm, epsilon: c.rmsNormEpsilon)
            let gated = m.matmul(layer.gate, transposeB: true).swiglu(m.matmul(layer.up, transposeB: true))
            x = x + gated.matmul(layer.down, transposeB: true)
        }
        cache?.commit(positions: p.positions)
        let final = x.rmsNorm(weight: w.finalNorm, epsilon: c.rmsNormEpsilon)
        return final.matmul(w.outputHead ?? w.embedding, transposeB: true)
    }
}

/// The model's parameters as `Variable`s on one tape.
public struct LlamaWeights {
    public struct Layer {
        public let attentionNorm, query, key, value, output, mlpNorm, gate, up, down: Variable
    }
    public let embedding: Variable
    public let layers: [Layer]
    public let finalNorm: Variable
    public let outputHead: Variable?

    init(_ p: LlamaParameters, tape: Tape, trainable: Bool) {
        func put(_ t: Tensor) -> Variable { trainable ? tape.variable(t) : tape.constant(t) }
        embedding = put(p.embedding)
        layers = p.layers.map { l in
            Layer(attentionNorm: put(l.attentionNorm), query: put(l.query), key: put(l.key), value: put(l.value),
                  output: put(l.output), mlpNorm: put(l.mlpNorm), gate: put(l.gate), up: put(l.up), down: put(l.down))
        }
        finalNorm = put(p.finalNorm)
        outputHead = p.outputHead.map(put)
    }
}
