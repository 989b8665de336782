import CLEXTensor

/// Where the new tokens of one inference step sit: the plain values of `PositionInputs`.
struct InferencePlacement {
    /// Position of each new token.
    var positions: [Float]
    /// θ_j per rotated pair ([r/2]), nil without RoPE.
    var frequencies: Tensor?
    var attentionFactor: Float = 1
    var alibiSlopes: [Float]?
    var queryScale: Float = 1
}

/// Buffers a session reuses on every decoding step (T ≤ `LlamaModel.decodeTokenLimit`).
final class InferenceWorkspace {
    let team: WorkerTeam
    /// Residual stream [limit, E] and attention output [limit, Hq·D].
    let residual, attended: Tensor
    /// Projections [limit, Hq·D], [limit, Hkv·D] ×2.
    let query, key, value: Tensor
    /// MLP gate, up and activation [limit, F].
    let gate, up, activation: Tensor
    private var scratch = Tensor(zeros: [0])

    init(_ c: LlamaConfiguration, team: WorkerTeam = .shared) {
        self.team = team
        let limit = LlamaModel.decodeTokenLimit
        let (q, kv) = (c.headCount * c.headDimension, c.keyValueHeadCount * c.headDimension)
        residual = Tensor(zeros: [limit, c.hiddenSize])
        attended = Tensor(zeros: [limit, q])
        query = Tensor(zeros: [limit, q])
        key = Tensor(zeros: [limit, kv])
        value = Tensor(zeros: [limit, kv])
        gate = Tensor(zeros: [limit, c.intermediateSize])
        up = Tensor(zeros: [limit, c.intermediateSize])
        activation = Tensor(zeros: [limit, c.intermediateSize])
    }

    /// Attention scratch of at least `count` floats (grown to twice the need, so a growing
    /// context reallocates it rarely; never shrunk).
    func attentionScratch(_ count: Int) -> UnsafeMutablePointer<Float> {
        if scratch.count < count { scratch = Tensor(zeros: [2 * count]) }
        return scratch.pointer
    }
}

/// The inference forward: the same computation as `forward(tokens:weights:positions:cache:)`
/// (the reference, on a tape), with the kernels called directly and three changes that keep
/// the result (equal to ~1e-6 of each logit row's scale) but not the cost:
///
/// - logits only for the rows asked for (generation needs the last; the LM head is a fifth of a
///   SmolLM2 prefill's FLOPs and its [T, V] output 400 MB at T = 2048);
/// - residual additions folded into the output projections (sgemm with β = 1);
/// - a few tokens at a time (decoding) run on `WorkerTeam` with row-streaming GEMVs, the MLP
///   gate fused with its projections, and split-key attention over the cache (`DecodeKernels`,
///   `DecodeAttention`); more tokens (prefill) go through OpenBLAS in chunks of
///   `prefillChunk` tokens.
///
/// Decoding reads the linear weights from `DecodeWeights`: the Float32 parameters, or blocks
/// (Q8_0/Q4_0/Q4_1) dequantised in registers (`QuantizedKernels`) — then the logits equal those
/// of the Float32 path over the dequantised matrices up to the grouping of the sums. Prefill
/// always multiplies the Float32 parameters: OpenBLAS's sgemm beats any GEMV over blocks
/// once a step has more than a few tokens.
extension LlamaModel {
    /// Largest step decoded with the GEMV kernels; longer ones take the GEMM (prefill) path.
    static let decodeTokenLimit = 8
    /// Tokens per prefill pass: bounds the activations, and sgemm runs as fast with 512 rows as
    /// with 2048.
    static let prefillChunk = 512

    /// Logits [rows.count, V] for rows `logitRows` of `tokens` (row i predicts the token after
    /// tokens[i]; an empty range computes none), appending every token to `cache` — which must
    /// already carry the rotation in `placement` (the caller re-rotates it).
    func infer(tokens: [Int32], placement p: InferencePlacement, cache: KVCache, logitRows: Range<Int>,
               workspace: InferenceWorkspace, decodeWeights: DecodeWeights) -> Tensor {
        precondition(p.positions.count == tokens.count, "infer: \(p.positions.count) positions for \(tokens.count) tokens")
        precondition(logitRows.isEmpty || (logitRows.lowerBound >= 0 && logitRows.upperBound <= tokens.count),
                     "infer: logit rows \(logitRows) outside 0..<\(tokens.count)")
        let out = Tensor(zeros: [logitRows.count, configuration.vocabularySize])
        if tokens.count <= Self.decodeTokenLimit {
            decodeStep(tokens, p, cache, logitRows, out, workspace, decodeWeights)
            return out
        }
        var start = 0
        while start < tokens.count {
            let end = min(tokens.count, start + Self.prefillChunk)
            var piece = p
            piece.positions = Array(p.positions[start..<end])
            let (lo, hi) = (max(start, logitRows.lowerBound), min(end, logitRows.upperBound))
            let x = prefillPass(Array(tokens[start..<end]), piece, cache)
            if lo < hi {
                let wanted = lo..<hi
                let final = Ops.rmsNorm(x.slice(rows: (wanted.lowerBound - start)..<(wanted.upperBound - start)),
                                        weight: parameters.finalNorm, epsilon: configuration.rmsNormEpsilon)
                let head = parameters.outputHead ?? parameters.embedding
                let (v, e) = (configuration.vocabularySize, configuration.hiddenSize)
                BLAS.sgemm(transA: false, transB: true, m: wanted.count, n: v, k: e, a: final.pointer, lda: e,
                           b: head.pointer, ldb: e, c: out.pointer + (wanted.lowerBound - logitRows.lowerBound) * v, ldc: v)
            }
            start = end
        }
        return out
    }

    /// One prefill chunk through every layer (OpenBLAS GEMMs, blocked attention); returns the
    /// residual stream [T, E] and commits the tokens to the cache.
    private func prefillPass(_ tokens: [Int32], _ p: InferencePlacement, _ cache: KVCache) -> Tensor {
        let c = configuration
        let t = tokens.count
        let (hq, hkv, d, e) = (c.headCount, c.keyValueHeadCount, c.headDimension, c.hiddenSize)
        var options = AttentionOptions(alibiSlopes: p.alibiSlopes)
        if p.alibiSlopes != nil {
            options.queryPositions = p.positions
            options.keyPositions = cache.positions + p.positions
        }
        let x = Ops.embedding(parameters.embedding, ids: tokens)                    // [T, E]
        for (i, layer) in parameters.layers.enumerated() {
            let h = Ops.rmsNorm(x, weight: layer.attentionNorm, epsilon: c.rmsNormEpsilon)
            var q = Ops.matmul(h, layer.query, transposeB: true).reshaped([t, hq, d])
            var k = Ops.matmul(h, layer.key, transposeB: true).reshaped([t, hkv, d])
            let v = Ops.matmul(h, layer.value, transposeB: true).reshaped([t, hkv, d])
            if let f = p.frequencies {
                q = Ops.rope(q, positions: p.positions, frequencies: f, attentionFactor: p.attentionFactor, layout: c.rotaryLayout)
                k = Ops.rope(k, positions: p.positions, frequencies: f, attentionFactor: p.attentionFactor, layout: c.rotaryLayout)
            }
            if p.queryScale != 1 { q = Ops.scale(q, p.queryScale) }
            cache.append(layer: i, keys: k, values: v)
            let (keys, values) = cache.contents(layer: i, pending: t)
            let attended = Ops.attention(q, keys, values, options: options)         // [T, Hq, D]
            BLAS.sgemm(transA: false, transB: true, m: t, n: e, k: hq * d, a: attended.pointer, lda: hq * d,
                       b: layer.output.pointer, ldb: hq * d, beta: 1, c: x.pointer, ldc: e)
            let m = Ops.rmsNorm(x, weight: layer.mlpNorm, epsilon: c.rmsNormEpsilon)
            let gated = Ops.swiglu(Ops.matmul(m, layer.gate, transposeB: true), Ops.matmul(m, layer.up, transposeB: true))
            BLAS.sgemm(transA: false, transB: true, m: t, n: e, k: c.intermediateSize, a: gated.pointer,
                       lda: c.intermediateSize, b: layer.down.pointer, ldb: c.intermediateSize, beta: 1,
                       c: x.pointer, ldc: e)
        }
        cache.commit(positions: p.positions)
        return x
    }

    /// A few tokens through every layer on the worker team, reading the linear weights `w`;
    /// logits of `logitRows` into `out`.
    private func decodeStep(_ tokens: [Int32], _ p: InferencePlacement, _ cache: KVCache, _ logitRows: Range<Int>,
                            _ out: Tensor, _ ws: InferenceWorkspace, _ w: DecodeWeights) {
        let c = configuration
        let t = tokens.count
        let (hq, hkv, d) = (c.headCount, c.keyValueHeadCount, c.headDimension)
        let team = ws.team
        let x = ws.residual.slice(rows: 0..<t)
        x.assign(Ops.embedding(parameters.embedding, ids: tokens))
        let (query, key, value) = (ws.query.slice(rows: 0..<t), ws.key.slice(rows: 0..<t), ws.value.slice(rows: 0..<t))
        let keys = cache.count + t
        let attention = DecodeAttention(queries: t, keys: keys, queryHeads: hq, kvHeads: hkv, headDim: d,
                                        scale: AttentionOptions().resolvedScale(headDim: d), threads: team.threadCount)
        let scratch = ws.attentionScratch(attention.scratchCount)
        let keyPositions = p.alibiSlopes == nil ? [] : cache.positions + p.positions
        for (i, layer) in parameters.layers.enumerated() {
            let matrices = w.layers[i]
            let h = Ops.rmsNorm(x, weight: layer.attentionNorm, epsilon: c.rmsNormEpsilon)
            DecodeKernels.linear([(matrices.query, query.pointer), (matrices.key, key.pointer),
                                  (matrices.value, value.pointer)], h.pointer, tokens: t, team: team)
            var q = query.reshaped([t, hq, d])
            var k = key.reshaped([t, hkv, d])
            if let f = p.frequencies {
                q = Ops.rope(q, positions: p.positions, frequencies: f, attentionFactor: p.attentionFactor, layout: c.rotaryLayout)
                k = Ops.rope(k, positions: p.positions, frequencies: f, attentionFactor: p.attentionFactor, layout: c.rotaryLayout)
            }
            if p.queryScale != 1 { q = Ops.scale(q, p.queryScale) }
            cache.append(layer: i, keys: k, values: value.reshaped([t, hkv, d]))
            let (cachedKeys, cachedValues) = cache.contents(layer: i, pending: t)
            if let slopes = p.alibiSlopes {
                slopes.withUnsafeBufferPointer { s in
                    p.positions.withUnsafeBufferPointer { qp in
                        keyPositions.withUnsafeBufferPointer { kp in
                            attention.run(q: q.pointer, k: cachedKeys.pointer, v: cachedValues.pointer,
                                          out: ws.attended.pointer, scratch: scratch,
                                          alibi: (s.baseAddress!, qp.baseAddress!, kp.baseAddress!), team: team)
                        }
                    }
                }
            } else {
                attention.run(q: q.pointer, k: cachedKeys.pointer, v: cachedValues.pointer, out: ws.attended.pointer,
                              scratch: scratch, alibi: nil, team: team)
            }
            DecodeKernels.linear(matrices.output, ws.attended.pointer, tokens: t, into: x.pointer, accumulate: true, team: team)
            let m = Ops.rmsNorm(x, weight: layer.mlpNorm, epsilon: c.rmsNormEpsilon)
            DecodeKernels.gatedUnits(gate: matrices.gate, up: matrices.up, m.pointer, tokens: t, gateOut: ws.gate.pointer,
                                     upOut: ws.up.pointer, into: ws.activation.pointer, team: team)
            DecodeKernels.linear(matrices.down, ws.activation.pointer, tokens: t, into: x.pointer, accumulate: true, team: team)
        }
        cache.commit(positions: p.positions)
        guard !logitRows.isEmpty else { return }
        let final = Ops.rmsNorm(x.slice(rows: logitRows), weight: parameters.finalNorm, epsilon: c.rmsNormEpsilon)
        DecodeKernels.linear(w.head, final.pointer, tokens: logitRows.count, into: out.pointer, accumulate: false, team: team)
    }
}
