import Foundation

/// Blocked ("flash") scaled dot-product attention on the CPU, forward pass.
///
/// Shapes: q [B, T, Hq, D], k and v [B, S, Hkv, D] (or [T, Hq, D] / [S, Hkv, D] for B = 1),
/// output [B, T, Hq, D]; query head h reads kv head h / (Hq / Hkv) (grouped-query attention).
///
/// The T×S score matrix is never formed. Each work item — one (batch, query head, block of `Bq`
/// queries) — walks the key blocks of `Bk` keys left to right: a `BLAS.sgemm` with row strides
/// Hq·D / Hkv·D gives the Bq×Bk score tile straight from q and k, an online softmax (running row
/// max m and row sum l, Milakov & Gimelshein 2018; Dao et al. 2022) turns it into probabilities
/// with `FastMath.exp` while rescaling the partial output, and a second sgemm adds P·V into the
/// output rows. Key blocks wholly above the causal diagonal (or before a sliding window) are
/// skipped. The per-row
/// log-sum-exp m + log l is what the backward needs to rebuild P without a second softmax.
/// Extra memory: one Bq×Bk tile and 2·Bq row statistics per running item, plus the [B, Hq, T]
/// log-sum-exp — O(T), never O(T·S).
extension Ops {
    /// Attention output softmax(scale·q·kᵀ + bias, masked)·v for inference.
    ///
    /// - q: [B, T, Hq, D] or [T, Hq, D]; k, v: [B, S, Hkv, D] or [S, Hkv, D], Hq a multiple of Hkv
    /// - result: the shape of q
    public static func attention(_ q: Tensor, _ k: Tensor, _ v: Tensor,
                                 options: AttentionOptions = AttentionOptions()) -> Tensor {
        let geometry = AttentionGeometry("attention", q: q.shape, k: k.shape, v: v.shape, options: options)
        let out = Tensor(zeros: q.shape)
        attentionForwardKernel(geometry, q.pointer, k.pointer, v.pointer, out.pointer, logSumExp: nil)
        return out
    }

    /// Attention output together with each query row's log-sum-exp of its (scaled, biased,
    /// masked) scores, as `attentionBackward` needs.
    ///
    /// - q: [B, T, Hq, D] or [T, Hq, D]; k, v: [B, S, Hkv, D] or [S, Hkv, D]
    /// - output: the shape of q; logSumExp: [B, Hq, T] ([Hq, T] for 3-D inputs)
    public static func attentionWithStats(_ q: Tensor, _ k: Tensor, _ v: Tensor,
                                          options: AttentionOptions = AttentionOptions())
        -> (output: Tensor, logSumExp: Tensor) {
        let geometry = AttentionGeometry("attentionWithStats", q: q.shape, k: k.shape, v: v.shape, options: options)
        let out = Tensor(zeros: q.shape)
        let lse = Tensor(zeros: geometry.logSumExpShape(rank: q.rank))
        attentionForwardKernel(geometry, q.pointer, k.pointer, v.pointer, out.pointer, logSumExp: lse.pointer)
        return (out, lse)
    }

    /// Fills `out` (zeroed, the shape of q) and, when given, `logSumExp` ([B, Hq, T]).
    static func attentionForwardKernel(_ g: AttentionGeometry, _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>,
                                       _ v: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                                       logSumExp: UnsafeMutablePointer<Float>?) {
        if g.queries == 0 || g.keys == 0 || g.headDim == 0 { return }
        let bq = AttentionBlocks.forwardQueries
        let queryBlocks = (g.queries + bq - 1) / bq
        let heads = g.batch * g.queryHeads
        g.withBias { bias in
            BLAS.withSingleThread {
                // Heaviest items (last query blocks under a causal mask) first, for balance.
                Parallel.forEach(heads * queryBlocks) { item in
                    let (blockFromEnd, bh) = item.quotientAndRemainder(dividingBy: heads)
                    let q0 = (queryBlocks - 1 - blockFromEnd) * bq
                    let tile = AttentionScratch(tiles: 1, rows: 2)
                    defer { tile.release() }
                    forwardBlock(g, bias, b: bh / g.queryHeads, h: bh % g.queryHeads,
                                 rows: q0..<min(q0 + bq, g.queries), q, k, v, out, logSumExp, tile)
                }
            }
        }
    }

    /// One query block of one head: online softmax over its visible key blocks.
    @inline(__always)
    private static func forwardBlock(_ g: AttentionGeometry, _ bias: AttentionBias, b: Int, h: Int, rows: Range<Int>,
                                     _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                                     _ out: UnsafeMutablePointer<Float>, _ logSumExp: UnsafeMutablePointer<Float>?,
                                     _ scratch: AttentionScratch) {
        let bk = AttentionBlocks.forwardKeys
        let (d, qs, ks) = (g.headDim, g.queryStride, g.kvStride)
        let kvHead = h / g.groupSize
        let qBlock = q + (b * g.queries + rows.lowerBound) * qs + h * d
        let oBlock = out + (b * g.queries + rows.lowerBound) * qs + h * d
        let kHead = k + b * g.keys * ks + kvHead * d
        let vHead = v + b * g.keys * ks + kvHead * d
        let (scores, rowMax, rowSum) = (scratch.tile(0), scratch.rows(0), scratch.rows(1))
        let qn = rows.count
        for r in 0..<qn { rowMax[r] = -.infinity; rowSum[r] = 0 }
        let keyLimit = g.keyEnd(rows.upperBound - 1)
        let slope = bias.slope(h)
        for k0 in stride(from: g.keyStart(rows.lowerBound), to: keyLimit, by: bk) {
            let kn = min(bk, keyLimit - k0)
            BLAS.sgemm(transA: false, transB: true, m: qn, n: kn, k: d, alpha: g.scale,
                       a: qBlock, lda: qs, b: kHead + k0 * ks, ldb: ks, c: scores, ldc: bk)
            for r in 0..<qn {
                let i = rows.lowerBound + r
                let factor = AttentionRow.onlineSoftmax(scores + r * bk, first: g.keyStart(i) - k0, valid: g.keyEnd(i) - k0, width: kn,
                                                        keyPositions: bias.keyPositions(from: k0), slope: slope,
                                                        queryPosition: bias.queryPosition(i),
                                                        max: &rowMax[r], sum: &rowSum[r])
                if factor != 1 {
                    let o = oBlock + r * qs
                    for c in 0..<d { o[c] *= factor }
                }
            }
            BLAS.sgemm(transA: false, transB: false, m: qn, n: d, k: kn,
                       a: scores, lda: bk, b: vHead + k0 * ks, ldb: ks, beta: 1, c: oBlock, ldc: qs)
        }
        for r in 0..<qn {
            let inverse = 1 / rowSum[r]
            let o = oBlock + r * qs
            for c in 0..<d { o[c] *= inverse }
            logSumExp?[(b * g.queryHeads + h) * g.queries + rows.lowerBound + r] = rowMax[r] + Foundation.log(rowSum[r])
        }
    }
}

/// Tile sizes of the blocked attention (queries × keys per score tile). Key blocks are multiples
/// of 16 so each tile row is whole SIMD16 vectors. Chosen by CPU time per flop on a 2-core
/// Zen 4 (D = 64): forward 128×256 was best, 64–256 × 128–256 within ~10%; backward 128×128,
/// its neighbours within ~5%. A 128×256 tile (128 KiB) stays in L2 next to its K/V blocks.
enum AttentionBlocks {
    static let forwardQueries = 128
    static let forwardKeys = 256
    static let backwardQueries = 128
    static let backwardKeys = 128
    /// Widest key block of any pass (scratch tiles are sized for it).
    static let maxKeys = max(forwardKeys, backwardKeys)
    /// Tallest query block of any pass.
    static let maxQueries = max(forwardQueries, backwardQueries)
}

/// Shapes, strides, scale and mask of one attention call, shared by the forward and backward.
struct AttentionGeometry {
    let batch: Int, queries: Int, keys: Int
    let queryHeads: Int, kvHeads: Int, headDim: Int
    /// Elements between consecutive tokens of q, output and their gradients (Hq·D).
    let queryStride: Int
    /// Elements between consecutive tokens of k, v and their gradients (Hkv·D).
    let kvStride: Int
    let scale: Float
    let causal: Bool
    let options: AttentionOptions

    /// Validates the shapes against each other and the options (programmer errors stop here).
    init(_ op: String, q: [Int], k: [Int], v: [Int], options: AttentionOptions) {
        requireArgument((q.count == 3 || q.count == 4) && k.count == q.count,
                     "\(op): q \(q) and k \(k) must both be [B, tokens, heads, D] or [tokens, heads, D]")
        ShapeCheck.require(ShapeCheck.same(op + " (k vs v)", k, v))
        let (q4, k4) = q.count == 4 ? (q, k) : ([1] + q, [1] + k)
        requireArgument(q4[0] == k4[0] && q4[3] == k4[3],
                     "\(op): q \(q) and k \(k) must agree in batch and head dimension")
        requireArgument(k4[2] >= 1 && q4[2] % k4[2] == 0,
                     "\(op): query heads of q \(q) must be a multiple of the kv heads of k \(k)")
        batch = q4[0]; queries = q4[1]; queryHeads = q4[2]; headDim = q4[3]
        keys = k4[1]; kvHeads = k4[2]
        requireArgument(!options.causal || keys >= queries,
                     "\(op): causal attention needs at least as many keys as queries: q \(q), k \(k)")
        requireArgument(queries == 0 || keys >= 1, "\(op): queries \(q) without keys \(k)")
        if let s = options.alibiSlopes {
            requireArgument(s.count == queryHeads, "\(op): \(s.count) ALiBi slopes for q \(q) with \(queryHeads) heads")
        }
        if let p = options.queryPositions {
            requireArgument(p.count == queries, "\(op): \(p.count) query positions for q \(q)")
        }
        if let p = options.keyPositions {
            requireArgument(p.count == keys, "\(op): \(p.count) key positions for k \(k)")
        }
        if let w = options.window {
            requireArgument(options.causal && w >= 1, "\(op): a sliding window (\(w)) needs a causal mask and at least one key")
        }
        queryStride = queryHeads * headDim
        kvStride = kvHeads * headDim
        scale = options.resolvedScale(headDim: headDim)
        causal = options.causal
        self.options = options
    }

    /// Query heads sharing one kv head.
    var groupSize: Int { queryHeads / kvHeads }

    /// End (exclusive) of the keys query row `i` sees: i + (S − T) + 1 when causal.
    @inline(__always) func keyEnd(_ i: Int) -> Int { causal ? min(keys, i + keys - queries + 1) : keys }

    /// First key query row `i` sees: i + (S − T) − W + 1 under a sliding window of W, else 0.
    @inline(__always) func keyStart(_ i: Int) -> Int {
        guard let w = options.window else { return 0 }
        return max(0, i + keys - queries - w + 1)
    }

    /// [B, Hq, T], or [Hq, T] for 3-D inputs.
    func logSumExpShape(rank: Int) -> [Int] {
        rank == 4 ? [batch, queryHeads, queries] : [queryHeads, queries]
    }

    /// Runs `body` with the ALiBi slopes and positions as raw buffers (empty when ALiBi is off).
    func withBias<R>(_ body: (AttentionBias) -> R) -> R {
        guard let slopes = options.alibiSlopes else { return body(AttentionBias()) }
        let offset = Float(keys - queries)
        let qp = options.queryPositions ?? (0..<queries).map { Float($0) + offset }
        // 16 spare entries: a SIMD16 load at the last partial key vector stays in bounds.
        let kp = (options.keyPositions ?? (0..<keys).map { Float($0) }) + [Float](repeating: 0, count: 16)
        return slopes.withUnsafeBufferPointer { s in
            qp.withUnsafeBufferPointer { qb in
                kp.withUnsafeBufferPointer { kb in
                    body(AttentionBias(slopes: s.baseAddress, queryPositions: qb.baseAddress, keyPositions: kb.baseAddress))
                }
            }
        }
    }
}

/// Raw views of the ALiBi slopes ([Hq]) and positions ([T], [S + 16]); all nil without ALiBi.
struct AttentionBias {
    var slopes: UnsafePointer<Float>? = nil
    var queryPositions: UnsafePointer<Float>? = nil
    var keyPositions: UnsafePointer<Float>? = nil

    @inline(__always) func slope(_ h: Int) -> Float { slopes?[h] ?? 0 }
    @inline(__always) func queryPosition(_ i: Int) -> Float { queryPositions?[i] ?? 0 }
    @inline(__always) func keyPositions(from j: Int) -> UnsafePointer<Float>? { keyPositions.map { $0 + j } }
}

/// Per-item working memory: `tiles` score tiles of maxQueries × maxKeys and `rows` row vectors.
struct AttentionScratch {
    let base: UnsafeMutablePointer<Float>
    let tileCount: Int

    init(tiles: Int, rows: Int) {
        let count = tiles * AttentionBlocks.maxQueries * AttentionBlocks.maxKeys + rows * AttentionBlocks.maxQueries
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
        base = raw.bindMemory(to: Float.self, capacity: count)
        base.initialize(repeating: 0, count: count)
        tileCount = tiles
    }

    /// Score tile `n`: room for maxQueries rows of maxKeys; a pass uses its own key block as
    /// the row stride.
    @inline(__always) func tile(_ n: Int) -> UnsafeMutablePointer<Float> {
        base + n * AttentionBlocks.maxQueries * AttentionBlocks.maxKeys
    }

    /// Row vector `n` (maxQueries entries).
    @inline(__always) func rows(_ n: Int) -> UnsafeMutablePointer<Float> {
        base + tileCount * AttentionBlocks.maxQueries * AttentionBlocks.maxKeys + n * AttentionBlocks.maxQueries
    }

    func release() { base.deallocate() }
}

/// SIMD16 operations on one row of a score tile. A row holds `width` keys of which the first
/// `valid` are visible (the rest masked); storage extends to a multiple of 16 past `width`.
enum AttentionRow {
    typealias Vector = SIMD16<Float>
    static let lanes = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    @inline(__always) static func store(_ x: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: x, as: Vector.self)
    }

    /// Adds the ALiBi bias slope·(keyPosition − queryPosition) when positions are given.
    @inline(__always)
    static func biased(_ x: Vector, _ keyPositions: UnsafePointer<Float>?, _ c: Int, _ slope: Float, _ qp: Float) -> Vector {
        guard let kp = keyPositions else { return x }
        return x + Vector(repeating: slope) * (load(kp + c) - Vector(repeating: qp))
    }

    /// Keeps lanes c + lane of `x` in first..<end; the others become `masked`.
    @inline(__always)
    static func masked(_ x: Vector, _ c: Int, first: Int, end: Int, with masked: Float) -> Vector {
        let lane = lanes &+ SIMD16<Int32>(repeating: Int32(c))
        var y = x
        y.replace(with: masked, where: (lane .< SIMD16<Int32>(repeating: Int32(first))) .| (lane .>= SIMD16<Int32>(repeating: Int32(end))))
        return y
    }

    /// Online-softmax step on a row of raw scores, of which keys first..<valid are visible:
    /// adds the bias, updates the running max `m` and sum `l`, replaces the row by
    /// exp(score − new m) (0 where masked, through `width`) and returns the factor
    /// exp(old m − new m) by which earlier partial results must be scaled.
    @inline(__always)
    static func onlineSoftmax(_ row: UnsafeMutablePointer<Float>, first: Int, valid: Int, width: Int,
                              keyPositions: UnsafePointer<Float>?, slope: Float, queryPosition: Float,
                              max m: inout Float, sum l: inout Float) -> Float {
        let w = min(valid, width)
        var c = 0
        if w <= max(first, 0) {
            while c < width { store(Vector(repeating: 0), row + c); c += 16 }
            return 1
        }
        var vmax = Vector(repeating: -.infinity)
        while c < w {
            var x = biased(load(row + c), keyPositions, c, slope, queryPosition)
            let edge = c + 16 > w || c < first
            if edge { x = masked(x, c, first: first, end: w, with: -.infinity) }
            if keyPositions != nil || edge { store(x, row + c) }
            vmax.replace(with: x, where: x .> vmax)
            c += 16
        }
        let newMax = Swift.max(m, vmax.max())
        let factor = m == -.infinity ? 0 : Foundation.exp(m - newMax)
        let shift = Vector(repeating: newMax)
        var vsum = Vector(repeating: 0)
        c = 0
        while c < w {
            let p = FastMath.exp(load(row + c) - shift)
            vsum += p
            store(p, row + c)
            c += 16
        }
        while c < width { store(Vector(repeating: 0), row + c); c += 16 }
        l = l * factor + vsum.sum()
        m = newMax
        return factor
    }

    /// Replaces a row of raw scores by the probabilities exp(score + bias − lse), 0 outside the
    /// visible keys first..<valid.
    @inline(__always)
    static func probabilities(_ row: UnsafeMutablePointer<Float>, first: Int, valid: Int, width: Int,
                              keyPositions: UnsafePointer<Float>?, slope: Float, queryPosition: Float,
                              logSumExp: Float) {
        let w = min(valid, width)
        let shift = Vector(repeating: logSumExp)
        var c = 0
        while c < w {
            var p = FastMath.exp(biased(load(row + c), keyPositions, c, slope, queryPosition) - shift)
            if c + 16 > w || c < first { p = masked(p, c, first: first, end: w, with: 0) }
            store(p, row + c)
            c += 16
        }
        while c < width { store(Vector(repeating: 0), row + c); c += 16 }
    }

    /// dP row → dS = P ⊙ (dP − delta) in place, over `width` keys.
    @inline(__always)
    static func scoreGradient(_ dp: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, width: Int, delta: Float) {
        let shift = Vector(repeating: delta)
        var c = 0
        while c < width {
            store(load(p + c) * (load(dp + c) - shift), dp + c)
            c += 16
        }
    }
}
