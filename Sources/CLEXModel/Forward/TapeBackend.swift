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

    func rmsNorm(_ x: Variable, weight: Variable, epsilon: Float) -> Variable { x.rmsNorm(weight: weight, epsilon: epsilon) }

    func project(_ x: Variable, _ weights: [Variable]) -> [Variable] { weights.map { x.matmul($0, transposeB: true) } }

    func linear(_ x: Variable, _ weight: Variable, adding residual: Variable) -> Variable {
        residual + x.matmul(weight, transposeB: true)
    }

    func gatedUnits(_ x: Variable, gate: Variable, up: Variable) -> Variable {
        x.matmul(gate, transposeB: true).swiglu(x.matmul(up, transposeB: true))
    }

    func rotate(_ x: Variable, heads: Int) -> Variable {
        guard let r = positions.rotary else { return x }
        let t = tokensPerSequence
        return x.reshaped([batch, t, heads, shape.headDimension])
            .rope(positions: positions.positions, frequencies: r.frequencies, attentionFactor: r.attentionFactor,
                  layout: shape.layout)
            .reshaped([batch * t, heads * shape.headDimension])
    }

    func attend(layer: Int, query: Variable, key: Variable, value: Variable) -> Variable {
        let (t, d, hkv) = (tokensPerSequence, shape.headDimension, shape.keyValueHeads)
        var options = AttentionOptions(alibiSlopes: positions.alibiSlopes)
        if positions.alibiSlopes != nil {
            options.queryPositions = positions.positions
            options.keyPositions = positions.positions
        }
        var q = query.reshaped([batch, t, shape.queryHeads, d])
        if positions.queryScale != 1 { q = q.scaled(by: positions.queryScale) }
        return q.attention(keys: key.reshaped([batch, t, hkv, d]), values: value.reshaped([batch, t, hkv, d]), options: options)
            .reshaped([batch * t, shape.queryHeads * d])
    }

    func logits(_ x: Variable, norm: Variable, epsilon: Float, head: Variable) -> Variable {
        x.rmsNorm(weight: norm, epsilon: epsilon).matmul(head, transposeB: true)
    }
}
