import CLEXKernels
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

/// Causal grouped-query attention (optionally in a sliding window) of a few new queries over a
/// KV cache, split over the keys they see ("flash decoding"): each team chunk takes a
/// contiguous slice of those keys and values,
/// computes the scores of every query head against it and keeps a partial softmax per head
/// (max m, sum l and the unnormalised output); the partials are then merged per query head:
/// o = Σ_c e^(m_c − M)·o_c / Σ_c e^(m_c − M)·l_c with M = max_c m_c.
///
/// The cache holds keys un-rotated in any element type: a slice is read 16 tokens at a time,
/// converted to Float32 in a small buffer and its keys rotated with the current rotation
/// (`RotationTable`) there; the query heads of a group then reuse the buffer. Values are converted
/// the same way. So the cache is read from memory once per step, in its stored size, whatever the
/// group size. The buffer holds the 16 tokens' whole rows (every kv head) while that is at most
/// `rowBlockBytes`, else one kv head at a time ([16, D]; the head must be a whole number of the
/// cache type's blocks).
struct DecodeAttention {
    let queries: Int, keys: Int, queryHeads: Int, kvHeads: Int, headDim: Int
    let scale: Float
    /// Key slices (team chunks).
    let slices: Int

    /// Tokens converted at a time.
    static let block = 16

    /// Largest block of whole token rows converted at once (Float32 bytes); wider rows are
    /// converted one kv head at a time. Measured at depth 2048 on the Zen 5 EPYC, attention's
    /// share of a decoding step: whole rows are faster at 12 KB (SmolLM2-135M: 4.0–6.4 ms against
    /// 6.0–7.2 by heads) and 16 KB (TinyLlama-1.1B: 6.8 against 8.4–9.3), heads at 256 KB
    /// (LLaMA-2-7B's 32 heads of 128: whole rows wrote the block to L2 and took ~20 % longer).
    static let rowBlockBytes = 64 * 1024

    /// Keys each query sees, itself included (a sliding window), or nil for all earlier keys.
    let window: Int?
    /// The keys any query sees: from the first query's window start to S.
    let visibleKeys: Range<Int>

    init(queries: Int, keys: Int, queryHeads: Int, kvHeads: Int, headDim: Int, scale: Float, window: Int?, threads: Int) {
        (self.queries, self.keys, self.queryHeads, self.kvHeads, self.headDim) = (queries, keys, queryHeads, kvHeads, headDim)
        self.scale = scale
        self.window = window
        visibleKeys = (window.map { max(0, keys - queries - $0 + 1) } ?? 0)..<keys
        // Four chunks per thread for balance, but none under 64 keys.
        slices = max(1, min(4 * threads, visibleKeys.count / 64))
    }

    /// Padded keys per slice: room for a whole 16-key block past the slice's end.
    private var sliceKeys: Int { (visibleKeys.count + slices - 1) / slices + Self.block }
    /// Floats of one token row (every kv head).
    private var rowFloats: Int { kvHeads * headDim }
    /// Floats per chunk: scores [T·Hq, sliceKeys], partials [T·Hq, D + 2] (o, m, l), then the
    /// converted block [16, Hkv·D].
    private var itemFloats: Int { queries * queryHeads * (sliceKeys + headDim + 2) + Self.block * rowFloats }
    /// Floats of scratch `run` needs.
    var scratchCount: Int { slices * itemFloats }

    /// Fills `out` [T, Hq, D] from q [T, Hq, D] (rotated, in the cache's rotate-half order) and
    /// the first S = `keys` tokens of `layer` in `cache` (the last T of them the new tokens),
    /// rotating keys with `rotation` (nil: no RoPE). ALiBi adds slope_h·(keyPosition_j −
    /// queryPosition_t) when `alibi` is given.
    func run(q: UnsafePointer<Float>, cache: KVCache, layer: Int, rotation: RotationTable?,
             out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
             alibi: (slopes: UnsafePointer<Float>, queryPositions: UnsafePointer<Float>, keyPositions: UnsafePointer<Float>)?,
             team: WorkerTeam) {
        let (first, n) = (visibleKeys.lowerBound, visibleKeys.count)
        team.forEachChunk(slices) { slice in
            let range = (first + n * slice / slices)..<(first + n * (slice + 1) / slices)
            partialAttention(keys: range, q: q, cache: cache, layer: layer, rotation: rotation, item: scratch + slice * itemFloats,
                             alibi: alibi)
        }
        merge(scratch: scratch, out: out)
    }

    /// Last key (exclusive) query t sees: t + (S − T) + 1.
    @inline(__always) func keyEnd(_ t: Int) -> Int { t + keys - queries + 1 }

    /// First key query t sees: t + (S − T) − W + 1 under a window of W, else 0.
    @inline(__always) func keyStart(_ t: Int) -> Int { window.map { max(0, keyEnd(t) - $0) } ?? 0 }

    private func partialAttention(keys range: Range<Int>, q: UnsafePointer<Float>, cache: KVCache, layer: Int,
                                  rotation: RotationTable?, item: UnsafeMutablePointer<Float>,
                                  alibi: (slopes: UnsafePointer<Float>, queryPositions: UnsafePointer<Float>, keyPositions: UnsafePointer<Float>)?) {
        let (d, g, stride, row) = (headDim, queryHeads / kvHeads, sliceKeys, rowFloats)
        let rows = queries * queryHeads                  // (token, head) pairs, token-major
        let qs = queryHeads * d
        let scores = item
        let partial = item + rows * stride
        let converted = partial + rows * (d + 2)
        let n = range.count
        // Per row: its token and head, and the keys it sees (no integer division in the loops
        // below).
        var token = [Int](), headOf = [Int](), start = [Int](), end = [Int]()
        for r in 0..<rows {
            let (ti, head) = r.quotientAndRemainder(dividingBy: queryHeads)
            token.append(ti)
            headOf.append(head)
            start.append(keyStart(ti))
            end.append(keyEnd(ti))
        }
        // Scores, 16 keys at a time: the block's keys are converted and rotated (whole token rows,
        // or one kv head at a time when rows are wider than `rowBlockBytes`), then the rows of
        // each (token, kv head) are multiplied by them with the C kernel that multiplies weight
        // rows by activations (`clex_matmul`, Float32: here 16 key rows by g queries).
        let perHead = cache.readsHeadsSeparately && Self.block * row * 4 > Self.rowBlockBytes
        let (blockStride, headStride) = perHead ? (d, 0) : (row, d)
        var j = range.lowerBound
        while j < range.upperBound {
            let width = min(Self.block, range.upperBound - j)
            if !perHead { cache.readKeys(layer: layer, tokens: j..<(j + width), into: converted, rotation: rotation) }
            for h in 0..<kvHeads {
                if perHead { cache.readKeys(layer: layer, tokens: j..<(j + width), head: h, into: converted, rotation: rotation) }
                for t in 0..<queries {
                    let first = t * queryHeads + h * g
                    clex_matmul(0, converted + h * headStride, blockStride * 4, Int64(width), q + t * qs + h * g * d, Int64(g),
                                Int64(d), scores + first * stride + j - range.lowerBound, Int64(stride), 0)
                }
            }
            for r in 0..<rows {
                // Lanes past `width` hold earlier blocks' scores, never read as visible keys.
                var block = DecodeKernels.load(scores + r * stride + j - range.lowerBound) * scale
                if let a = alibi {
                    let (slope, position) = (a.slopes[headOf[r]], a.queryPositions[token[r]])
                    for l in 0..<width { block[l] += slope * (a.keyPositions[j + l] - position) }
                }
                DecodeKernels.store(block, scores + r * stride + j - range.lowerBound)
            }
            j += Self.block
        }
        // Softmax numerators over the visible keys of each row, with their max and sum.
        for r in 0..<rows {
            let lower = min(n, max(0, start[r] - range.lowerBound))
            let visible = min(n, max(0, end[r] - range.lowerBound))
            let row = scores + r * stride
            let o = partial + r * (d + 2)
            o.update(repeating: 0, count: d)
            guard visible > lower else {
                o[d] = -.infinity
                o[d + 1] = 0
                continue
            }
            var top = DecodeKernels.Vector(repeating: -.infinity)
            var k = lower
            while k + 16 <= visible {
                top = pointwiseMax(top, DecodeKernels.load(row + k))
                k += 16
            }
            var m = top.max()
            while k < visible {
                m = max(m, row[k])
                k += 1
            }
            let shift = DecodeKernels.Vector(repeating: m)
            var sum = DecodeKernels.Vector()
            var j = lower
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
        // Values, 16 tokens at a time, converted like the keys; each row adds its weighted
        // values, 64 columns (4 vectors) at a time in registers.
        j = range.lowerBound
        while j < range.upperBound {
            let width = min(Self.block, range.upperBound - j)
            if !perHead { cache.readValues(layer: layer, tokens: j..<(j + width), into: converted) }
            for h in 0..<kvHeads {
                if perHead { cache.readValues(layer: layer, tokens: j..<(j + width), head: h, into: converted) }
                let values = converted + h * headStride
                for t in 0..<queries {
                    for r in (t * queryHeads + h * g)..<(t * queryHeads + (h + 1) * g) {
                        let (lower, visible) = (max(0, start[r] - j), min(width, end[r] - j))
                        guard visible > lower else { continue }
                        let p = scores + r * stride + j - range.lowerBound
                        let o = partial + r * (d + 2)
                        var c = 0
                        while c + 64 <= d {
                            var (a0, a1, a2, a3) = (DecodeKernels.load(o + c), DecodeKernels.load(o + c + 16),
                                                    DecodeKernels.load(o + c + 32), DecodeKernels.load(o + c + 48))
                            for l in lower..<visible {
                                let (x, px) = (values + l * blockStride + c, DecodeKernels.Vector(repeating: p[l]))
                                a0.addProduct(px, DecodeKernels.load(x)); a1.addProduct(px, DecodeKernels.load(x + 16))
                                a2.addProduct(px, DecodeKernels.load(x + 32)); a3.addProduct(px, DecodeKernels.load(x + 48))
                            }
                            DecodeKernels.store(a0, o + c); DecodeKernels.store(a1, o + c + 16)
                            DecodeKernels.store(a2, o + c + 32); DecodeKernels.store(a3, o + c + 48)
                            c += 64
                        }
                        // Remaining columns (head dimensions that are not a multiple of 64).
                        for l in lower..<visible { DecodeKernels.addScaled(o + c, p[l], values + l * blockStride + c, d - c) }
                    }
                }
            }
            j += Self.block
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
