/// Blocked attention, backward pass (FlashAttention-2 style, Dao 2023), and the `Variable` op.
///
/// Scores are recomputed tile by tile from q, k and the forward's log-sum-exp:
/// P = exp(scale·q·kᵀ + bias − lse), dV += Pᵀ·dO, dP = dO·Vᵀ, dS = P ⊙ (dP − δ) with
/// δ = rowsum(dO ⊙ O), dQ += scale·dS·K, dK += scale·dSᵀ·Q — five tile GEMMs and one exp per
/// score, each tile visited once.
///
/// Parallel split — no two threads ever write the same gradient row, without locks, per-thread
/// copies or a second pass: the (query block i, key block j) tiles are processed in wavefronts
/// of constant i − j. Within one wavefront every tile has its own query block and its own key
/// block, so a work item — one tile of one (batch, kv head), looping over the query heads of
/// the group (which share dK/dV rows: the GQA gradient is summed there) — owns the dQ rows of
/// its query block and the dK/dV rows of its key block. Wavefronts run one after another (a
/// `Parallel.forEach` each, inside one `BLAS.withSingleThread`); every gradient row receives its
/// tiles in a fixed order, so results are deterministic. Extra memory: δ [B, Hq, T] and two
/// Bq×Bk tiles per running item.
extension Ops {
    /// The gradients of `attentionWithStats(q, k, v, options:)` with respect to q, k and v.
    ///
    /// - q: [B, T, Hq, D]; k, v: [B, S, Hkv, D] (or the 3-D forms, B = 1)
    /// - output, gradient: [B, T, Hq, D] (the forward output and the gradient of the loss by it)
    /// - logSumExp: [B, Hq, T] ([Hq, T] for 3-D) from `attentionWithStats`
    /// - results: the shapes of q, k and v
    public static func attentionBackward(q: Tensor, k: Tensor, v: Tensor, output: Tensor, logSumExp: Tensor,
                                         gradient: Tensor, options: AttentionOptions = AttentionOptions())
        -> (q: Tensor, k: Tensor, v: Tensor) {
        let grads = attentionGradients(q: q, k: k, v: v, output: output, logSumExp: logSumExp, gradient: gradient,
                                       options: options, needQueries: true, needKeysValues: true)
        return (grads.q!, grads.k!, grads.v!)
    }

    /// `attentionBackward` computing only the gradients asked for (nil for the others).
    static func attentionGradients(q: Tensor, k: Tensor, v: Tensor, output: Tensor, logSumExp: Tensor,
                                   gradient: Tensor, options: AttentionOptions,
                                   needQueries: Bool, needKeysValues: Bool) -> (q: Tensor?, k: Tensor?, v: Tensor?) {
        let g = AttentionGeometry("attentionBackward", q: q.shape, k: k.shape, v: v.shape, options: options)
        ShapeCheck.require(ShapeCheck.same("attentionBackward (q vs output)", q.shape, output.shape))
        ShapeCheck.require(ShapeCheck.same("attentionBackward (q vs gradient)", q.shape, gradient.shape))
        ShapeCheck.require(ShapeCheck.same("attentionBackward (logSumExp)", g.logSumExpShape(rank: q.rank),
                                           logSumExp.shape))
        let dq = needQueries ? Tensor(zeros: q.shape) : nil
        let dk = needKeysValues ? Tensor(zeros: k.shape) : nil
        let dv = needKeysValues ? Tensor(zeros: v.shape) : nil
        if g.queries == 0 || g.keys == 0 || g.headDim == 0 { return (dq, dk, dv) }

        let delta = UnsafeMutablePointer<Float>.allocate(capacity: g.batch * g.queryHeads * g.queries)
        defer { delta.deallocate() }
        rowDot(g, gradient.pointer, output.pointer, into: delta)
        let t = BackwardOperands(q: q.pointer, k: k.pointer, v: v.pointer, dO: gradient.pointer,
                                 logSumExp: logSumExp.pointer, delta: delta,
                                 dq: dq?.pointer, dk: dk?.pointer, dv: dv?.pointer)
        let (bq, bk) = (AttentionBlocks.backwardQueries, AttentionBlocks.backwardKeys)
        let heads = g.batch * g.kvHeads
        g.withBias { bias in
            BLAS.withSingleThread {
                for keyBlocks in wavefronts(g) {
                    Parallel.forEach(heads * keyBlocks.count) { n in
                        let (head, j) = n.quotientAndRemainder(dividingBy: keyBlocks.count)
                        let (k0, q0) = (keyBlocks[j].key * bk, keyBlocks[j].query * bq)
                        let scratch = AttentionScratch(tiles: 2, rows: 0)
                        defer { scratch.release() }
                        backwardTile(g, bias, b: head / g.kvHeads, kvHead: head % g.kvHeads,
                                     rows: q0..<min(q0 + bq, g.queries), keys: k0..<min(k0 + bk, g.keys), t, scratch)
                    }
                }
            }
        }
        return (dq, dk, dv)
    }

    /// The pointers one backward tile reads and writes (gradients nil when not wanted).
    private struct BackwardOperands {
        let q, k, v, dO, logSumExp, delta: UnsafePointer<Float>
        let dq, dk, dv: UnsafeMutablePointer<Float>?
    }

    /// The (query block, key block) tiles with at least one visible score, grouped by
    /// wavefront i − j (ascending); within a wavefront no two tiles share a block.
    private static func wavefronts(_ g: AttentionGeometry) -> [[(query: Int, key: Int)]] {
        let (bq, bk) = (AttentionBlocks.backwardQueries, AttentionBlocks.backwardKeys)
        let (queryBlocks, keyBlocks) = ((g.queries + bq - 1) / bq, (g.keys + bk - 1) / bk)
        var fronts: [[(query: Int, key: Int)]] = []
        for diagonal in (1 - keyBlocks)..<queryBlocks {
            let tiles = (max(0, -diagonal)..<min(keyBlocks, queryBlocks - diagonal)).compactMap { j -> (query: Int, key: Int)? in
                let i = j + diagonal
                let visible = j * bk < g.keyEnd(min((i + 1) * bq, g.queries) - 1) && min((j + 1) * bk, g.keys) > g.keyStart(i * bq)
                return visible ? (i, j) : nil
            }
            if !tiles.isEmpty { fronts.append(tiles) }
        }
        return fronts
    }

    /// δ[b, h, t] = Σ_d dO[b, t, h, d] · O[b, t, h, d].
    private static func rowDot(_ g: AttentionGeometry, _ dO: UnsafePointer<Float>, _ o: UnsafePointer<Float>,
                               into delta: UnsafeMutablePointer<Float>) {
        let d = g.headDim
        Parallel.forEachChunk(g.batch * g.queries, costPerItem: 2 * g.queryStride) { tokens in
            for bt in tokens {
                let (b, t) = bt.quotientAndRemainder(dividingBy: g.queries)
                for h in 0..<g.queryHeads {
                    let (x, y) = (dO + bt * g.queryStride + h * d, o + bt * g.queryStride + h * d)
                    var s: Float = 0
                    for c in 0..<d { s += x[c] * y[c] }
                    delta[(b * g.queryHeads + h) * g.queries + t] = s
                }
            }
        }
    }

    /// The five products of one tile (query rows `rows` × keys `keys`) for every query head that
    /// reads kv head `kvHead`, accumulated into the tile's dQ rows and dK/dV rows.
    @inline(__always)
    private static func backwardTile(_ g: AttentionGeometry, _ bias: AttentionBias, b: Int, kvHead: Int,
                                     rows: Range<Int>, keys: Range<Int>, _ t: BackwardOperands,
                                     _ scratch: AttentionScratch) {
        let bk = AttentionBlocks.backwardKeys
        let (d, qs, ks) = (g.headDim, g.queryStride, g.kvStride)
        let (q0, qn, k0, kn) = (rows.lowerBound, rows.count, keys.lowerBound, keys.count)
        let kvOffset = (b * g.keys + k0) * ks + kvHead * d
        let (p, dp) = (scratch.tile(0), scratch.tile(1))
        for h in (kvHead * g.groupSize)..<((kvHead + 1) * g.groupSize) {
            let slope = bias.slope(h)
            let rowOffset = (b * g.queries + q0) * qs + h * d
            let rowStats = (b * g.queryHeads + h) * g.queries + q0
            BLAS.sgemm(transA: false, transB: true, m: qn, n: kn, k: d, alpha: g.scale,
                       a: t.q + rowOffset, lda: qs, b: t.k + kvOffset, ldb: ks, c: p, ldc: bk)
            for r in 0..<qn {
                AttentionRow.probabilities(p + r * bk, first: g.keyStart(q0 + r) - k0, valid: g.keyEnd(q0 + r) - k0, width: kn,
                                           keyPositions: bias.keyPositions(from: k0), slope: slope,
                                           queryPosition: bias.queryPosition(q0 + r),
                                           logSumExp: t.logSumExp[rowStats + r])
            }
            if let dv = t.dv {
                BLAS.sgemm(transA: true, transB: false, m: kn, n: d, k: qn,
                           a: p, lda: bk, b: t.dO + rowOffset, ldb: qs, beta: 1, c: dv + kvOffset, ldc: ks)
            }
            BLAS.sgemm(transA: false, transB: true, m: qn, n: kn, k: d,
                       a: t.dO + rowOffset, lda: qs, b: t.v + kvOffset, ldb: ks, c: dp, ldc: bk)
            for r in 0..<qn {
                AttentionRow.scoreGradient(dp + r * bk, p + r * bk, width: kn, delta: t.delta[rowStats + r])
            }
            if let dq = t.dq {
                BLAS.sgemm(transA: false, transB: false, m: qn, n: d, k: kn, alpha: g.scale,
                           a: dp, lda: bk, b: t.k + kvOffset, ldb: ks, beta: 1, c: dq + rowOffset, ldc: qs)
            }
            if let dk = t.dk {
                BLAS.sgemm(transA: true, transB: false, m: kn, n: d, k: qn, alpha: g.scale,
                           a: dp, lda: bk, b: t.q + rowOffset, ldb: qs, beta: 1, c: dk + kvOffset, ldc: ks)
            }
        }
    }
}

extension Variable {
    /// Blocked attention with `self` as the queries; see `Ops.attention` for shapes and
    /// `AttentionOptions` for mask, scale and ALiBi.
    ///
    /// - self: [B, T, Hq, D] or [T, Hq, D]; keys, values: [B, S, Hkv, D] or [S, Hkv, D]
    /// - result: the shape of self
    public func attention(keys: Variable, values: Variable, options: AttentionOptions) -> Variable {
        let (q, k, v) = (self, keys, values)
        let (output, lse) = Ops.attentionWithStats(q.value, k.value, v.value, options: options)
        return record(output, inputs: [q, k, v]) { gradient, sink in
            let grads = Ops.attentionGradients(q: q.value, k: k.value, v: v.value, output: output, logSumExp: lse,
                                               gradient: gradient, options: options, needQueries: q.requiresGrad,
                                               needKeysValues: k.requiresGrad || v.requiresGrad)
            if let dq = grads.q { sink.add(dq, to: q) }
            if let dk = grads.k, k.requiresGrad { sink.add(dk, to: k) }
            if let dv = grads.v, v.requiresGrad { sink.add(dv, to: v) }
        }
    }
}
