import CLEXTensor

/// cos and sin of every cached token's angles under the session's current rotation — what
/// attention needs to rotate the un-rotated keys of the KV cache as it reads them, and the new
/// queries. Rows follow the cache's tokens; a change of frequencies or attention factor (a new
/// t for CLEX, a new base for dynamic NTK) recomputes every row, otherwise only new tokens' rows
/// are computed. The values are `RotaryTable`'s, so the rotation equals `Ops.rope`'s.
final class RotationTable {
    /// Most tokens the table will hold (the cache's capacity).
    let capacity: Int
    private(set) var frequencies: [Float] = []
    private(set) var attentionFactor: Float = 1
    /// Rows computed (tokens 0..<rows).
    private(set) var rows = 0
    /// Pairs per head: r/2.
    private var half = 0
    private var cos = Tensor(zeros: [0])
    private var sin = Tensor(zeros: [0])
    /// `frequencies` as the tensor `RotaryTable` takes, made once per rotation.
    private var frequencyTensor = Tensor(zeros: [0])

    init(capacity: Int) { self.capacity = capacity }

    /// Brings the table to the rotation (`frequencies` [r/2], `attentionFactor`) for tokens at
    /// `cached` positions followed by `new` ones.
    func update(cached: [Float], new: [Float], frequencies: [Float], attentionFactor: Float) {
        if frequencies != self.frequencies || attentionFactor != self.attentionFactor {
            (self.frequencies, self.attentionFactor, half, rows) = (frequencies, attentionFactor, frequencies.count, 0)
            frequencyTensor = Tensor(zeros: [half])
            frequencyTensor.pointer.update(from: frequencies, count: half)
        }
        let total = cached.count + new.count
        guard total > rows else {
            rows = total
            return
        }
        if cos.count < total * half {
            let grown = max(min(2 * total, capacity), total) * half
            let (c, s) = (Tensor(zeros: [grown]), Tensor(zeros: [grown]))
            c.pointer.update(from: cos.pointer, count: rows * half)
            s.pointer.update(from: sin.pointer, count: rows * half)
            (cos, sin) = (c, s)
        }
        let positions = rows < cached.count ? Array(cached[rows...]) + new : Array(new[(rows - cached.count)...])
        let table = RotaryTable(positions: positions, frequencies: frequencyTensor, attentionFactor: attentionFactor)
        (cos.pointer + rows * half).update(from: table.cos.pointer, count: positions.count * half)
        (sin.pointer + rows * half).update(from: table.sin.pointer, count: positions.count * half)
        rows = total
    }

    /// Forgets the rows past the first `tokens` (the cache was truncated; rows are recomputed for
    /// whatever tokens take those places next).
    func truncate(to tokens: Int) { rows = min(rows, tokens) }

    /// Rotates the head vectors of consecutive tokens `tokens` in place: token `tokens.lowerBound
    /// + i` at x + i·heads·d, `heads` vectors of `dimension` elements each, rotate-half order:
    /// (a, b) ← (a·cos − b·sin, b·cos + a·sin) for pairs (j, j + r/2).
    @inline(__always)
    func rotate(_ x: UnsafeMutablePointer<Float>, tokens: Range<Int>, heads: Int, dimension d: Int) {
        typealias V = SIMD16<Float>
        let (cosines, sines, half) = (UnsafePointer(cos.pointer), UnsafePointer(sin.pointer), half)
        for (i, token) in tokens.enumerated() {
            let (c, s) = (cosines + token * half, sines + token * half)
            for h in 0..<heads {
                let a = x + (i * heads + h) * d, b = a + half
                var j = 0
                while j + 16 <= half {
                    let (xa, xb) = (UnsafeRawPointer(a + j).loadUnaligned(as: V.self), UnsafeRawPointer(b + j).loadUnaligned(as: V.self))
                    let (cv, sv) = (UnsafeRawPointer(c + j).loadUnaligned(as: V.self), UnsafeRawPointer(s + j).loadUnaligned(as: V.self))
                    UnsafeMutableRawPointer(a + j).storeBytes(of: xa * cv - xb * sv, as: V.self)
                    UnsafeMutableRawPointer(b + j).storeBytes(of: xb * cv + xa * sv, as: V.self)
                    j += 16
                }
                while j < half {
                    let (xa, xb) = (a[j], b[j])
                    a[j] = xa * c[j] - xb * s[j]
                    b[j] = xb * c[j] + xa * s[j]
                    j += 1
                }
            }
        }
    }
}
