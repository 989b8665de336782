import CLEXTensor

/// Runs a forward pass as differentiable ops on the tape of its inputs: B sequences of T tokens
/// (rows sequence-major), positions and rotation from `PositionInputs`. Training runs on it, and
/// it is the reference the inference backend (KV cache, typed weights) is tested against.
struct TapeBackend: ModelBackend {
    typealias Value = Variable
    typealias Parameter = Variable

    let shape: AttentionShape
    let batch: Int
    let positions: PositionInputs

    private var tokensPerSequence: Int { positions.positions.count }

    func embed(_ tokens: [Int32], table: Variable) -> Variable { table.embedding(ids: tokens) }

    func normalize(_ x: Variable, _ n: Normalization<Variable>) -> Variable {
        guard let bias = n.bias else { return x.rmsNorm(weight: n.weight, epsilon: n.epsilon) }
        return x.layerNorm(weight: n.weight, bias: bias, epsilon: n.epsilon)
    }

    func project(_ x: Variable, _ weights: [Variable], biases: [Variable?]) -> [Variable] {
        weights.enumerated().map { i, w in
            let y = x.matmul(w, transposeB: true)
            guard i < biases.count, let b = biases[i] else { return y }
            return y + b
        }
    }

    func linear(_ x: Variable, _ weight: Variable, bias: Variable?, adding residual: Variable) -> Variable {
        let y = x.matmul(weight, transposeB: true)
        return residual + (bias.map { y + $0 } ?? y)
    }

    func gatedUnits(_ x: Variable, gate: Variable, up: Variable) -> Variable {
        x.matmul(gate, transposeB: true).swiglu(x.matmul(up, transposeB: true))
    }

    func activatedUnits(_ x: Variable, _ weight: Variable, bias: Variable?, activation: MLPActivation) -> Variable {
        guard case .gelu(let approximation) = activation else { preconditionFailure("activatedUnits: \(activation) is gated") }
        let y = x.matmul(weight, transposeB: true)
        return (bias.map { y + $0 } ?? y).gelu(approximation: approximation)
    }

    func mixture(_ x: Variable, _ experts: Experts<Variable>, adding residual: Variable) -> Variable {
        let (rows, e) = (x.shape[0], x.shape[1])
        let f = experts.gate.shape[0] / experts.count
        let (chosen, weights) = x.matmul(experts.router, transposeB: true).topKSoftmax(k: experts.perToken)
        let slotWeights = weights.reshaped([rows * experts.perToken, 1])
        var out = residual
        for (i, routed) in experts.assignments(chosen).enumerated() where !routed.rows.isEmpty {
            let xe = x.embedding(ids: routed.rows)                                           // [nᵢ, E]
            let units = xe.matmul(experts.gate.rows((i * f)..<((i + 1) * f)), transposeB: true)
                .swiglu(xe.matmul(experts.up.rows((i * f)..<((i + 1) * f)), transposeB: true))
            let ye = units.matmul(experts.down.rows((i * e)..<((i + 1) * e)), transposeB: true)
            let scale = slotWeights.embedding(ids: routed.slots).reshaped([routed.slots.count])
            out = out + ye.scaledRows(by: scale).scatteredRows(routed.rows, count: rows)
        }
        return out
    }

    func rotate(_ x: Variable, heads: Int) -> Variable {
        guard let r = positions.rotary else { return x }
        let t = tokensPerSequence
        return x.reshaped([batch, t, heads, shape.headDimension])
            .rope(positions: positions.positions, frequencies: r.frequencies, attentionFactor: r.attentionFactor,
                  layout: shape.layout, rotaryDim: shape.rotaryDimension)
            .reshaped([batch * t, heads * shape.headDimension])
    }

    func attend(layer: Int, query: Variable, key: Variable, value: Variable) -> Variable {
        let (t, d, hkv) = (tokensPerSequence, shape.headDimension, shape.keyValueHeads)
        var options = AttentionOptions(alibiSlopes: positions.alibiSlopes, window: shape.window)
        if positions.alibiSlopes != nil {
            options.queryPositions = positions.positions
            options.keyPositions = positions.positions
        }
        var q = query.reshaped([batch, t, shape.queryHeads, d])
        if positions.queryScale != 1 { q = q.scaled(by: positions.queryScale) }
        return q.attention(keys: key.reshaped([batch, t, hkv, d]), values: value.reshaped([batch, t, hkv, d]), options: options)
            .reshaped([batch * t, shape.queryHeads * d])
    }

    func logits(_ x: Variable, norm: Normalization<Variable>, head: Variable, headBias: Variable?) -> Variable {
        let y = normalize(x, norm).matmul(head, transposeB: true)
        return headBias.map { y + $0 } ?? y
    }
}
