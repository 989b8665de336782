import CLEXTensor

/// Where the new tokens of one inference step sit: the plain values of `PositionInputs`. The
/// rotation is the session's `RotationTable` (nil without RoPE), brought up to date for the
/// cached and new tokens before the step.
struct InferencePlacement {
    /// Position of each new token.
    var positions: [Float]
    var rotation: RotationTable?
    var alibiSlopes: [Float]?
    /// Factor on each new token's query (CLEX's log_scale: ln n / ln L for its own context n);
    /// nil when every factor is 1.
    var queryScales: [Float]?
}

/// What a session keeps between steps: the worker team, the typed linear layer's prepared
/// activations, the attention scratch and the Float32 keys and values a prefill chunk attends
/// over.
final class InferenceWorkspace {
    let team: WorkerTeam
    let linear: TypedLinear
    private var scratch = Tensor(zeros: [0])
    private var floatKeys = Tensor(zeros: [0])
    private var floatValues = Tensor(zeros: [0])

    init(precision: ActivationPrecision, team: WorkerTeam = .shared) {
        self.team = team
        linear = TypedLinear(team: team, precision: precision)
    }

    /// Attention scratch of at least `count` floats (grown to twice the need, so a growing
    /// context reallocates it rarely; never shrunk).
    func attentionScratch(_ count: Int) -> UnsafeMutablePointer<Float> {
        if scratch.count < count { scratch = Tensor(zeros: [2 * count]) }
        return scratch.pointer
    }

    /// The keys (rotated by `rotation`, rotate-half order) and values of `tokens` of `layer` in
    /// `cache` as Float32 [tokens.count, Hkv, D] each, for the blocked attention of a prefill.
    /// The buffers are reused across layers and steps (grown by half again, up to the cache's
    /// capacity, when too small).
    func floatContents(_ cache: KVCache, layer: Int, tokens: Range<Int>, rotation: RotationTable?) -> (keys: Tensor, values: Tensor) {
        let (hkv, d, count) = (cache.keyValueHeads, cache.headDimension, tokens.count)
        let row = hkv * d
        if floatKeys.count < count * row {
            let grown = max(min(count * 3 / 2, cache.capacity), count) * row
            floatKeys = Tensor(zeros: [grown])
            floatValues = Tensor(zeros: [grown])
        }
        let (k, v) = (floatKeys.pointer, floatValues.pointer)
        Parallel.forEachChunk(count, costPerItem: 4 * row) { range in
            let read = (tokens.lowerBound + range.lowerBound)..<(tokens.lowerBound + range.upperBound)
            cache.readKeys(layer: layer, tokens: read, into: k + range.lowerBound * row, rotation: rotation)
            cache.readValues(layer: layer, tokens: read, into: v + range.lowerBound * row)
        }
        return (Tensor(storage: floatKeys.storage, offset: 0, shape: [count, hkv, d]),
                Tensor(storage: floatValues.storage, offset: 0, shape: [count, hkv, d]))
    }
}

/// Runs a forward pass over the stored weights (any element type) for the T new tokens of one
/// step, appending their keys and values to the cache. The same computation as `TapeBackend`
/// (tested against it), scheduled for inference:
///
/// - T ≤ `LlamaModel.decodeTokenLimit` (decoding): every matrix is streamed once by the typed
///   kernels on the worker team, and attention is split over the cached keys (`DecodeAttention`);
/// - larger T (a prefill chunk): tiled kernels or sgemm (`TypedLinear`) and the blocked attention;
/// - residual additions are folded into the output projections (accumulating into the residual);
/// - logits only for the rows asked for (the LM head is a fifth of a small model's prefill).
final class InferenceBackend: ModelBackend {
    typealias Value = Tensor
    typealias Parameter = Weight

    let shape: AttentionShape
    let placement: InferencePlacement
    let cache: KVCache
    let workspace: InferenceWorkspace
    /// Rows whose logits `logits` returns.
    let logitRows: Range<Int>

    init(shape: AttentionShape, placement: InferencePlacement, cache: KVCache, workspace: InferenceWorkspace,
         logitRows: Range<Int>) {
        (self.shape, self.placement, self.cache, self.workspace, self.logitRows) = (shape, placement, cache, workspace, logitRows)
    }

    private var tokens: Int { placement.positions.count }
    private var decoding: Bool { tokens <= LlamaModel.decodeTokenLimit }

    func embed(_ ids: [Int32], table: Weight) -> Tensor {
        let (v, e) = (table.rows, table.columns)
        let out = Tensor(zeros: [ids.count, e])
        for (i, id) in ids.enumerated() {
            requireArgument(id >= 0 && Int(id) < v, "embedding: token id \(id) at position \(i) outside 0..<\(v)")
            table.dequantizeRows(Int(id)..<(Int(id) + 1), into: out.pointer + i * e)
        }
        return out
    }

    func normalize(_ x: Tensor, _ n: Normalization<Weight>) -> Tensor {
        guard let bias = n.bias else { return Ops.rmsNorm(x, weight: n.weight.tensor, epsilon: n.epsilon) }
        return Ops.layerNorm(x, weight: n.weight.tensor, bias: bias.tensor, epsilon: n.epsilon)
    }

    func project(_ x: Tensor, _ weights: [Weight], biases: [Weight?]) -> [Tensor] {
        let outputs = weights.map { Tensor(zeros: [x.shape[0], $0.rows]) }
        workspace.linear.multiply(x.pointer, tokens: x.shape[0], zip(weights, outputs).map { ($0, $1.pointer, $0.rows) },
                                  accumulate: false)
        for (y, b) in zip(outputs, biases) { if let b { Self.addBias(b, to: y) } }
        return outputs
    }

    func linear(_ x: Tensor, _ weight: Weight, bias: Weight?, adding residual: Tensor) -> Tensor {
        workspace.linear.multiply(x.pointer, tokens: x.shape[0], [(weight, residual.pointer, residual.shape[1])],
                                  accumulate: true)
        if let bias { Self.addBias(bias, to: residual) }
        return residual
    }

    func gatedUnits(_ x: Tensor, gate: Weight, up: Weight) -> Tensor {
        let gu = project(x, [gate, up], biases: [])
        return Ops.swiglu(gu[0], gu[1])
    }

    func activatedUnits(_ x: Tensor, _ weight: Weight, bias: Weight?, activation: MLPActivation) -> Tensor {
        guard case .gelu(let approximation) = activation else { preconditionFailure("activatedUnits: \(activation) is gated") }
        return Ops.gelu(project(x, [weight], biases: [bias])[0], approximation: approximation)
    }

    func mixture(_ x: Tensor, _ experts: Experts<Weight>, adding residual: Tensor) -> Tensor {
        let e = x.shape[1]
        let f = experts.gate.rows / experts.count
        let logits = project(x, [experts.router], biases: [])[0]
        let (chosen, weights) = Ops.topKSoftmax(logits, k: experts.perToken)
        for (i, routed) in experts.assignments(chosen).enumerated() where !routed.rows.isEmpty {
            let xe = Ops.embedding(x, ids: routed.rows)                                      // [nᵢ, E]
            let block = (i * f)..<((i + 1) * f)
            let units = gatedUnits(xe, gate: experts.gate.rowBlock(block), up: experts.up.rowBlock(block))
            let ye = project(units, [experts.down.rowBlock((i * e)..<((i + 1) * e))], biases: [])[0]
            let (y, r, w) = (ye.pointer, residual.pointer, weights.pointer)
            for (n, (row, slot)) in zip(routed.rows, routed.slots).enumerated() {
                let s = w[Int(slot)]
                for j in 0..<e { r[Int(row) * e + j] += s * y[n * e + j] }
            }
        }
        return residual
    }

    /// y[r, ·] += bias for every row of y [rows, N] (bias [N], Float32).
    private static func addBias(_ bias: Weight, to y: Tensor) {
        let values = bias.tensor
        let (b, p, n) = (values.pointer, y.pointer, y.shape[1])
        withExtendedLifetime(values) {
            for r in 0..<y.shape[0] {
                let row = p + r * n
                for j in 0..<n { row[j] += b[j] }
            }
        }
    }

    /// Identity: this backend rotates inside `attend`, where the keys are read from the cache
    /// un-rotated and the queries are put in the cache's element order.
    func rotate(_ x: Tensor, heads: Int) -> Tensor { x }

    func attend(layer: Int, query: Tensor, key: Tensor, value: Tensor) -> Tensor {
        let (t, hq, hkv, d) = (tokens, shape.queryHeads, shape.keyValueHeads, shape.headDimension)
        let p = placement
        cache.append(layer: layer, keys: key.pointer, values: value.pointer, tokens: t)
        let s = cache.count + t
        let q = Tensor(zeros: [t, hq, d])
        RotaryOrder.toRotateHalf(query.pointer, into: q.pointer, vectors: t * hq, dimension: d,
                                 rotaryDimension: shape.rotaryDimension, from: shape.layout)
        if let rotation = p.rotation {
            rotation.rotate(q.pointer, tokens: cache.count..<(cache.count + t), heads: hq, dimension: d)
        }
        if let scales = p.queryScales {
            for (i, s) in scales.enumerated() {
                for j in (i * hq * d)..<((i + 1) * hq * d) { q.pointer[j] *= s }
            }
        }
        let keyPositions = p.alibiSlopes == nil ? [] : cache.positions + p.positions
        guard decoding else {
            // Only the keys some query of the chunk sees: under a window, from the first query's.
            let first = shape.window.map { max(0, cache.count - $0 + 1) } ?? 0
            var options = AttentionOptions(alibiSlopes: p.alibiSlopes, window: shape.window)
            if p.alibiSlopes != nil {
                options.queryPositions = p.positions
                options.keyPositions = Array(keyPositions[first...])
            }
            let (keys, values) = workspace.floatContents(cache, layer: layer, tokens: first..<s, rotation: p.rotation)
            return Ops.attention(q, keys, values, options: options).reshaped([t, hq * d])
        }
        let out = Tensor(zeros: [t, hq * d])
        let team = workspace.team
        let attention = DecodeAttention(queries: t, keys: s, queryHeads: hq, kvHeads: hkv, headDim: d,
                                        scale: AttentionOptions().resolvedScale(headDim: d), window: shape.window,
                                        threads: team.threadCount)
        let scratch = workspace.attentionScratch(attention.scratchCount)
        func run(_ alibi: (slopes: UnsafePointer<Float>, queryPositions: UnsafePointer<Float>, keyPositions: UnsafePointer<Float>)?) {
            attention.run(q: q.pointer, cache: cache, layer: layer, rotation: p.rotation, out: out.pointer, scratch: scratch,
                          alibi: alibi, team: team)
        }
        if let slopes = p.alibiSlopes {
            slopes.withUnsafeBufferPointer { s in
                p.positions.withUnsafeBufferPointer { qp in
                    keyPositions.withUnsafeBufferPointer { kp in run((s.baseAddress!, qp.baseAddress!, kp.baseAddress!)) }
                }
            }
        } else {
            run(nil)
        }
        return out
    }

    func logits(_ x: Tensor, norm: Normalization<Weight>, head: Weight, headBias: Weight?) -> Tensor {
        let out = Tensor(zeros: [logitRows.count, head.rows])
        guard !logitRows.isEmpty else { return out }
        let final = normalize(x.slice(rows: logitRows), norm)
        workspace.linear.multiply(final.pointer, tokens: logitRows.count, [(head, out.pointer, head.rows)], accumulate: false)
        if let headBias { Self.addBias(headBias, to: out) }
        return out
    }
}

extension LlamaModel {
    /// Largest step decoded with the streaming kernels; longer ones take the prefill path.
    static let decodeTokenLimit = 8
    /// Tokens per prefill pass: bounds the activations; the kernels run as fast with 512 rows as
    /// with 2048.
    static let prefillChunk = 512

    /// Logits [rows.count, V] for rows `logitRows` of `tokens` (row i predicts the token after
    /// tokens[i]; an empty range computes none), appending every token to `cache`. The caller
    /// brings `placement.rotation` up to date for the cached and new tokens.
    func infer(tokens: [Int32], placement p: InferencePlacement, cache: KVCache, logitRows: Range<Int>,
               workspace: InferenceWorkspace) -> Tensor {
        precondition(p.positions.count == tokens.count, "infer: \(p.positions.count) positions for \(tokens.count) tokens")
        precondition(logitRows.isEmpty || (logitRows.lowerBound >= 0 && logitRows.upperBound <= tokens.count),
                     "infer: logit rows \(logitRows) outside 0..<\(tokens.count)")
        let out = Tensor(zeros: [logitRows.count, configuration.vocabularySize])
        let chunk = tokens.count <= Self.decodeTokenLimit ? tokens.count : Self.prefillChunk
        var start = 0
        repeat {
            let end = min(tokens.count, start + chunk)
            var piece = p
            piece.positions = Array(p.positions[start..<end])
            piece.queryScales = p.queryScales.map { Array($0[start..<end]) }
            let (lo, hi) = (max(start, logitRows.lowerBound), min(end, logitRows.upperBound))
            let rows = lo < hi ? (lo - start)..<(hi - start) : 0..<0
            let backend = InferenceBackend(shape: AttentionShape(configuration), placement: piece, cache: cache,
                                           workspace: workspace, logitRows: rows)
            let logits = forward(backend, tokens: Array(tokens[start..<end]), weights: parameters)
            cache.commit(positions: piece.positions)
            if !rows.isEmpty { out.slice(rows: (lo - logitRows.lowerBound)..<(hi - logitRows.lowerBound)).assign(logits) }
            start = end
        } while start < tokens.count
        return out
    }
}
