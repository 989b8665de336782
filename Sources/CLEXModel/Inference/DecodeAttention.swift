import CLEXTensor
import Foundation

/// Vector helpers of the decoding attention (`DecodeAttention`).
enum DecodeKernels {
    typealias Vector = SIMD16<Float>

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    @inline(__always) static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
    }

    /// The unreduced products of a and b (n elements): lane l holds Σ_c a[16c + l]·b[16c + l].
    /// Two accumulators halve the chain of dependent FMAs.
    @inline(__always)
    static func partialDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Vector {
        var (s, t) = (Vector(), Vector())
        var i = 0
        while i + 32 <= n {
            s.addProduct(load(a + i), load(b + i))
            t.addProduct(load(a + i + 16), load(b + i + 16))
            i += 32
        }
        s += t
        if i + 16 <= n {
            s.addProduct(load(a + i), load(b + i))
            i += 16
        }
        if i < n {
            var x = Vector(), y = Vector()
            for l in 0..<(n - i) { x[l] = a[i + l]; y[l] = b[i + l] }
            s.addProduct(x, y)
        }
        return s
    }

    /// The 16 lane sums of v[0..<16], as one vector (lane l = v[l].sum()): a transposing
    /// reduction tree of 15 pairwise steps instead of 16 serial horizontal sums.
    @inline(__always)
    static func sums(_ v: UnsafeMutablePointer<Vector>) -> Vector {
        @inline(__always) func fold(_ a: Vector, _ b: Vector) -> Vector {
            Vector(lowHalf: a.evenHalf + a.oddHalf, highHalf: b.evenHalf + b.oddHalf)
        }
        var width = 16
        while width > 1 {
            for i in 0..<(width / 2) { v[i] = fold(v[2 * i], v[2 * i + 1]) }
            width /= 2
        }
        return v[0]
    }

    /// y[i] += a · x[i] over n elements.
    @inline(__always)
    static func addScaled(_ y: UnsafeMutablePointer<Float>, _ a: Float, _ x: UnsafePointer<Float>, _ n: Int) {
        var i = 0
        let s = Vector(repeating: a)
        while i + 16 <= n {
            store(load(y + i).addingProduct(s, load(x + i)), y + i)
            i += 16
        }
        while i < n {
            y[i] += a * x[i]
            i += 1
        }
    }
}

/// Causal grouped-query attention of a few new queries over a KV cache, split over keys
/// ("flash decoding"): each team chunk takes a contiguous slice of the cached keys and values,
/// computes the scores of every query head against it and keeps a partial softmax per head
/// (max m, sum l and the unnormalised output); the partials are then merged per query head:
/// o = Σ_c e^(m_c − M)·o_c / Σ_c e^(m_c − M)·l_c with M = max_c m_c. A slice is small enough to
/// stay in cache while the query heads of a group reuse it, so the cache is read from memory
/// once per step, whatever the group size.
///
/// Measured on one Zen 4 thread at S = 2048, D = 64, 9 q / 3 kv heads: ~100 ns of compute per key
/// when the cache is in L2, ~215 ns from memory — the reads do not overlap the arithmetic well
/// (no software prefetch from Swift), so at long contexts this, not bandwidth, is the limit.
struct DecodeAttention {
    let queries: Int, keys: Int, queryHeads: Int, kvHeads: Int, headDim: Int
    let scale: Float
    /// Key slices (team chunks).
    let slices: Int

    init(queries: Int, keys: Int, queryHeads: Int, kvHeads: Int, headDim: Int, scale: Float, threads: Int) {
        (self.queries, self.keys, self.queryHeads, self.kvHeads, self.headDim) = (queries, keys, queryHeads, kvHeads, headDim)
        self.scale = scale
        // Four chunks per thread for balance, but none under 64 keys.
        slices = max(1, min(4 * threads, keys / 64))
    }

    /// Padded keys per slice: room for a whole 16-key block past the slice's end.
    private var sliceKeys: Int { (keys + slices - 1) / slices + 16 }
    /// Floats per chunk: scores [T·Hq, sliceKeys], then partials [T·Hq, D + 2] (o, m, l).
    private var itemFloats: Int { queries * queryHeads * (sliceKeys + headDim + 2) }
    /// Floats of scratch `run` needs.
    var scratchCount: Int { slices * itemFloats }

    /// Fills `out` [T, Hq, D] from q [T, Hq, D] and the cached k, v [S, Hkv, D] (the last T of the
    /// S keys are the new tokens). ALiBi adds slope_h·(keyPosition_j − queryPosition_t) when
    /// `alibi` is given.
    func run(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
             out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
             alibi: (slopes: UnsafePointer<Float>, queryPositions: UnsafePointer<Float>, keyPositions: UnsafePointer<Float>)?,
             team: WorkerTeam) {
        team.forEachChunk(slices) { slice in
            let range = (keys * slice / slices)..<(keys * (slice + 1) / slices)
            partialAttention(keys: range, q: q, k: k, v: v, item: scratch + slice * itemFloats, alibi: alibi)
        }
        merge(scratch: scratch, out: out)
    }

    /// Last key (exclusive) query t sees: t + (S − T) + 1.
    @inline(__always) func keyEnd(_ t: Int) -> Int { t + keys - queries + 1 }

    private func partialAttention(keys range: Range<Int>, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                                  v: UnsafePointer<Float>, item: UnsafeMutablePointer<Float>,
                                  alibi: (slopes: UnsafePointer<Float>, queryPositions: UnsafePointer<Float>, keyPositions: UnsafePointer<Float>)?) {
        let (d, g, stride) = (headDim, queryHeads / kvHeads, sliceKeys)
        let rows = queries * queryHeads                  // (token, head) pairs, token-major
        let (qs, ks) = (queryHeads * d, kvHeads * d)
        let scores = item
        let partial = item + rows * stride
        let n = range.count
        // Per row: its query, the offset of its kv head in a cached row, its token and head, and
        // the end of the keys it sees (no integer division in the loops below).
        var queryOffset = [Int](), keyOffset = [Int](), token = [Int](), headOf = [Int](), end = [Int]()
        for r in 0..<rows {
            let (ti, head) = r.quotientAndRemainder(dividingBy: queryHeads)
            queryOffset.append(ti * qs + head * d)
            keyOffset.append((head / g) * d)
            token.append(ti)
            headOf.append(head)
            end.append(keyEnd(ti))
        }
        // Scores, row by row and 16 keys at a time: the keys' partial-product vectors go to
        // `lanes` and are reduced together (`DecodeKernels.sums`). The rows of one kv head read
        // the same key columns, from cache after the first.
        withUnsafeTemporaryAllocation(of: DecodeKernels.Vector.self, capacity: 16) { lanes in
            let lanes = lanes.baseAddress!
            for r in 0..<rows {
                let query = q + queryOffset[r]
                let keys = k + keyOffset[r]
                var j = range.lowerBound
                while j < range.upperBound {
                    let width = min(16, range.upperBound - j)
                    for l in 0..<width { lanes[l] = DecodeKernels.partialDot(query, keys + (j + l) * ks, d) }
                    for l in width..<16 { lanes[l] = DecodeKernels.Vector() }
                    var block = DecodeKernels.sums(lanes) * scale
                    if let a = alibi {
                        let (slope, position) = (a.slopes[headOf[r]], a.queryPositions[token[r]])
                        for l in 0..<width { block[l] += slope * (a.keyPositions[j + l] - position) }
                    }
                    DecodeKernels.store(block, scores + r * stride + j - range.lowerBound)
                    j += 16
                }
            }
        }
        // Softmax numerators over the visible keys of each row, with their max and sum.
        for r in 0..<rows {
            let visible = min(n, max(0, end[r] - range.lowerBound))
            let row = scores + r * stride
            let o = partial + r * (d + 2)
            o.update(repeating: 0, count: d)
            guard visible > 0 else {
                o[d] = -.infinity
                o[d + 1] = 0
                continue
            }
            var m = -Float.infinity
            for j in 0..<visible { m = max(m, row[j]) }
            let shift = DecodeKernels.Vector(repeating: m)
            var sum = DecodeKernels.Vector()
            var j = 0
            while j + 16 <= visible {
                let p = FastMath.exp(DecodeKernels.load(row + j) - shift)
                DecodeKernels.store(p, row + j)
                sum += p
                j += 16
            }
            if j < visible {
                var x = DecodeKernels.Vector(repeating: -.infinity)
                for l in 0..<(visible - j) { x[l] = row[j + l] }
                let p = FastMath.exp(x - shift)
                for l in 0..<(visible - j) { row[j + l] = p[l] }
                sum += p
            }
            o[d] = m
            o[d + 1] = sum.sum()
        }
        // Values, row by row: the output accumulates in registers, 64 columns (4 vectors) at a
        // time and two keys per step (8 independent sums).
        for r in 0..<rows {
            let visible = min(n, max(0, end[r] - range.lowerBound))
            let p = scores + r * stride
            let o = partial + r * (d + 2)
            let values = v + range.lowerBound * ks + keyOffset[r]
            var c = 0
            while c + 64 <= d {
                var (a0, a1, a2, a3) = (DecodeKernels.Vector(), DecodeKernels.Vector(), DecodeKernels.Vector(), DecodeKernels.Vector())
                var (b0, b1, b2, b3) = (DecodeKernels.Vector(), DecodeKernels.Vector(), DecodeKernels.Vector(), DecodeKernels.Vector())
                var j = 0
                while j + 2 <= visible {
                    let (x, y) = (values + j * ks + c, values + (j + 1) * ks + c)
                    let (px, py) = (DecodeKernels.Vector(repeating: p[j]), DecodeKernels.Vector(repeating: p[j + 1]))
                    a0.addProduct(px, DecodeKernels.load(x)); a1.addProduct(px, DecodeKernels.load(x + 16))
                    a2.addProduct(px, DecodeKernels.load(x + 32)); a3.addProduct(px, DecodeKernels.load(x + 48))
                    b0.addProduct(py, DecodeKernels.load(y)); b1.addProduct(py, DecodeKernels.load(y + 16))
                    b2.addProduct(py, DecodeKernels.load(y + 32)); b3.addProduct(py, DecodeKernels.load(y + 48))
                    j += 2
                }
                if j < visible {
                    let (x, px) = (values + j * ks + c, DecodeKernels.Vector(repeating: p[j]))
                    a0.addProduct(px, DecodeKernels.load(x)); a1.addProduct(px, DecodeKernels.load(x + 16))
                    a2.addProduct(px, DecodeKernels.load(x + 32)); a3.addProduct(px, DecodeKernels.load(x + 48))
                }
                DecodeKernels.store(a0 + b0, o + c); DecodeKernels.store(a1 + b1, o + c + 16)
                DecodeKernels.store(a2 + b2, o + c + 32); DecodeKernels.store(a3 + b3, o + c + 48)
                c += 64
            }
            // Remaining columns (head dimensions that are not a multiple of 64).
            for j in 0..<visible { DecodeKernels.addScaled(o + c, p[j], values + j * ks + c, d - c) }
        }
    }

    private func merge(scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let d = headDim
        let rows = queries * queryHeads
        for r in 0..<rows {
            func part(_ slice: Int) -> UnsafeMutablePointer<Float> {
                scratch + slice * itemFloats + rows * sliceKeys + r * (d + 2)
            }
            var m = -Float.infinity
            for s in 0..<slices { m = max(m, part(s)[d]) }
            let o = out + r * d
            o.update(repeating: 0, count: d)
            var total: Float = 0
            for s in 0..<slices {
                let p = part(s)
                guard p[d] > -.infinity else { continue }
                let w = Foundation.exp(p[d] - m)
                total += w * p[d + 1]
                DecodeKernels.addScaled(o, w, p, d)
            }
            let inverse = 1 / total
            for c in 0..<d { o[c] *= inverse }
        }
    }
}
