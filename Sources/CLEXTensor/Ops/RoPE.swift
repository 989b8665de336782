import Foundation

/// How the rotated elements of one head are paired (see ../../shared/spec/clex.md §1 and
/// rope-scaling.md, "Checkpoint layouts").
public enum RotaryLayout: Sendable, Equatable {
    /// HF transformers: element j pairs with j + r/2 (r = rotary dimension); angles
    /// cat(pos·θ, pos·θ); out = x·cos + rotate_half(x)·sin with rotate_half(x) = cat(−x2, x1).
    case rotateHalf
    /// GGUF / Meta: elements (2j, 2j + 1) form pair j.
    case interleaved
}

/// Rotary position embedding (RoPE) with arbitrary Float positions, learnable per-pair
/// frequencies (CLEX differentiates through them), an attention factor on cos and sin (YaRN's
/// mscale) and partial rotary (only the first `rotaryDim` elements of each head turn).
///
/// Pair j of token t with position p_t turns by the angle φ = p_t·θ_j:
/// (a, b) → m·(a·cos φ − b·sin φ, b·cos φ + a·sin φ), m = attentionFactor.
///
/// Precision: φ = p·θ is formed in Double (exact: a Float × Float product fits in 53 bits) and
/// its cos/sin are evaluated in Double arithmetic (`RotaryTable.sinCos`); only m·cos φ and
/// m·sin φ are rounded to Float. A Float angle (HF computes its tables in float32) would be off
/// by up to half an ulp of φ: 2e-3 rad at φ ≈ 65536 (θ_0 = 1), growing with the position. Here
/// the rotation at p = 65535.5 is as accurate as at p = 3.5, up to the position's own Float
/// rounding.
///
/// Cost: the cos/sin table is built once per call, [T, r/2] (O(T·r) memory, T·r/2 vectorised
/// Double cos/sin evaluations), then every head of every batch row is turned with SIMD, in parallel
/// over the rows (batch × tokens).
extension Ops {
    /// Applies RoPE to `x`.
    ///
    /// - x: [B, T, H, D] or [T, H, D] (tokens, heads, head dimension D)
    /// - positions: T positions, shared by the batch; any Float (fractional, large)
    /// - frequencies: [r/2], θ_j of pair j
    /// - attentionFactor: m, multiplies both cos and sin (attention logits scale by m²)
    /// - rotaryDim: r, even, 2 ≤ r ≤ D (default D); elements r..<D of each head pass through
    /// - result: the shape of `x`
    public static func rope(_ x: Tensor, positions: [Float], frequencies: Tensor, attentionFactor: Float = 1,
                            layout: RotaryLayout, rotaryDim: Int? = nil) -> Tensor {
        let plan = RotaryPlan("rope", x: x.shape, positions: positions.count, frequencies: frequencies.shape,
                              rotaryDim: rotaryDim)
        let table = RotaryTable(positions: positions, frequencies: frequencies, attentionFactor: attentionFactor)
        return plan.rotate(x, table: table, layout: layout, inverse: false)
    }

    /// The gradients of `rope(x, …)` given the result's gradient `gradient` (shape of `x`).
    ///
    /// To x: m·R(−φ) applied to the gradient (the transpose of the rotation m·R(φ)); the
    /// pass-through elements copy the gradient. To the frequencies (when `needFrequencies`):
    /// dL/dθ_j = Σ_{b,t,h} p_t · dL/dφ_{t,j}, with dL/dφ = m·(cos φ·(g_b·a − g_a·b) −
    /// sin φ·(g_a·a + g_b·b)) for the pair (a, b) and its gradient (g_a, g_b); the sum over
    /// tokens is taken in Double (per thread, then reduced in a fixed order). Positions get none.
    ///
    /// - result: x [shape of x]; frequencies [r/2] or nil
    public static func ropeBackward(x: Tensor, positions: [Float], frequencies: Tensor, attentionFactor: Float = 1,
                                    layout: RotaryLayout, rotaryDim: Int? = nil, gradient: Tensor,
                                    needFrequencies: Bool) -> (x: Tensor, frequencies: Tensor?) {
        let plan = RotaryPlan("ropeBackward", x: x.shape, positions: positions.count,
                              frequencies: frequencies.shape, rotaryDim: rotaryDim)
        let table = RotaryTable(positions: positions, frequencies: frequencies, attentionFactor: attentionFactor)
        return plan.backward(x, gradient: gradient, positions: positions, table: table, layout: layout,
                             needFrequencies: needFrequencies)
    }

    /// Reorders the q/k projection rows of an HF checkpoint (rotate_half layout) for the
    /// interleaved layout, as llama.cpp's converter does for GGUF, so that interleaved RoPE of
    /// the permuted projection equals rotate_half RoPE of the original (up to that same
    /// reordering of each head's elements, so attention scores agree).
    ///
    /// llama.cpp `convert_hf_to_gguf.py`, `LlamaModel.permute(weights, n_head, n_head_kv)`:
    ///
    ///     if n_head_kv is not None and n_head != n_head_kv: n_head = n_head_kv
    ///     weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
    ///            .swapaxes(1, 2).reshape(weights.shape)
    ///
    /// applied with (n_head, n_head) to q and (n_head, n_head_kv) to k: `heads` is the number of
    /// heads this projection produces (n_head for q, n_head_kv for k). Output row h·D + 2i + s
    /// is input row h·D + s·D/2 + i (s ∈ {0, 1}). It moves whole heads of D = rows/heads
    /// elements, so it matches RoPE only when the whole head is rotated (rotaryDim = D).
    ///
    /// - weight: [H·D, E…] (a weight [H·D, E] or a bias [H·D])
    /// - result: the shape of `weight`
    public static func permuteRowsForInterleavedRotary(weight: Tensor, heads: Int) -> Tensor {
        permuteRotaryRows("permuteRowsForInterleavedRotary", weight, heads: heads, toInterleaved: true)
    }

    /// The inverse of `permuteRowsForInterleavedRotary`: GGUF (interleaved) q/k rows back to the
    /// HF rotate_half order. Output row h·D + s·D/2 + i is input row h·D + 2i + s.
    ///
    /// - weight: [H·D, E…]
    /// - result: the shape of `weight`
    public static func unpermuteRowsForInterleavedRotary(weight: Tensor, heads: Int) -> Tensor {
        permuteRotaryRows("unpermuteRowsForInterleavedRotary", weight, heads: heads, toInterleaved: false)
    }

    private static func permuteRotaryRows(_ op: String, _ weight: Tensor, heads: Int, toInterleaved: Bool) -> Tensor {
        requireArgument(weight.rank >= 1 && heads > 0 && weight.shape[0] % (2 * heads) == 0,
                     "\(op): shape \(weight.shape) needs a first dimension divisible by 2 × heads (\(heads))")
        let rows = weight.shape[0]
        let out = Tensor(zeros: weight.shape)
        if rows == 0 { return out }
        let inner = weight.count / rows
        for (to, from) in rotaryRowOrder(rows: rows, heads: heads, toInterleaved: toInterleaved).enumerated() {
            (out.pointer + to * inner).update(from: weight.pointer + from * inner, count: inner)
        }
        return out
    }

    /// The row order of `permuteRowsForInterleavedRotary` (`toInterleaved`) or its inverse: row
    /// i of the result is row order[i] of the input. `rows` must be divisible by 2 × heads.
    public static func rotaryRowOrder(rows: Int, heads: Int, toInterleaved: Bool) -> [Int] {
        requireArgument(heads > 0 && rows % (2 * heads) == 0,
                        "rotaryRowOrder: \(rows) rows are not divisible by 2 × heads (\(heads))")
        var order = [Int](repeating: 0, count: rows)
        let dim = rows / heads, half = dim / 2
        for h in 0..<heads {
            for i in 0..<half {
                for s in 0..<2 {
                    let interleavedRow = h * dim + 2 * i + s
                    let halvesRow = h * dim + s * half + i
                    if toInterleaved { order[interleavedRow] = halvesRow } else { order[halvesRow] = interleavedRow }
                }
            }
        }
        return order
    }
}

extension Variable {
    /// RoPE of `self` (x: [B, T, H, D] or [T, H, D]) with differentiable `frequencies` ([r/2]);
    /// see `Ops.rope`. Gradients flow to x and to the frequencies (CLEX's ODE output); the
    /// positions are data. The cos/sin table is built once and reused by the backward pass.
    public func rope(positions: [Float], frequencies: Variable, attentionFactor: Float = 1,
                     layout: RotaryLayout, rotaryDim: Int? = nil) -> Variable {
        let plan = RotaryPlan("rope", x: shape, positions: positions.count, frequencies: frequencies.shape,
                              rotaryDim: rotaryDim)
        let table = RotaryTable(positions: positions, frequencies: frequencies.value,
                                attentionFactor: attentionFactor)
        let x = self
        return record(plan.rotate(value, table: table, layout: layout, inverse: false),
                      inputs: [x, frequencies]) { g, sink in
            let (dx, df) = plan.backward(x.value, gradient: g, positions: positions, table: table, layout: layout,
                                         needFrequencies: frequencies.requiresGrad)
            if x.requiresGrad { sink.add(dx, to: x) }
            if let df { sink.add(df, to: frequencies) }
        }
    }
}

/// m·cos(p_t·θ_j) and m·sin(p_t·θ_j), each [T, r/2]; angles in Double (see `Ops.rope`).
public struct RotaryTable {
    public let cos: Tensor
    public let sin: Tensor

    /// The table of `positions` ([T]) for `frequencies` ([r/2]) and the factor m on cos and sin.
    public init(positions: [Float], frequencies: Tensor, attentionFactor: Float) {
        let (tokens, half) = (positions.count, frequencies.count)
        cos = Tensor(zeros: [tokens, half])
        sin = Tensor(zeros: [tokens, half])
        let (cp, sp, fp) = (cos.pointer, sin.pointer, frequencies.pointer)
        let m = Double(attentionFactor)
        positions.withUnsafeBufferPointer { pos in
            Parallel.forEachChunk(tokens, costPerItem: half * 30) { range in
                for t in range {
                    let p = Double(pos[t])
                    let (c, s) = (cp + t * half, sp + t * half)
                    var j = 0
                    while j < half {
                        // A partial last block is padded with θ = 0 and only its valid lanes stored.
                        let n = min(8, half - j)
                        var theta = SIMD8<Float>()
                        if n == 8 {
                            theta = RotaryKernels.load8(fp + j)
                        } else {
                            for l in 0..<n { theta[l] = fp[j + l] }
                        }
                        // Exact: a Float × Float product fits in a Double's significand.
                        let (sv, cv) = Self.sinCos(SIMD8<Double>(theta) * p)
                        let (cf, sf) = (SIMD8<Float>(cv * m), SIMD8<Float>(sv * m))
                        if n == 8 {
                            RotaryKernels.store(cf, c + j)
                            RotaryKernels.store(sf, s + j)
                        } else {
                            for l in 0..<n { c[j + l] = cf[l]; s[j + l] = sf[l] }
                        }
                        j += 8
                    }
                }
            }
        }
    }

    /// π/2 as hi + lo: hi = the Double nearest π/2, lo = π/2 − hi to Double precision.
    private static let halfPiHi = Double.pi / 2
    private static let halfPiLo = 6.123233995736766e-17

    /// sin and cos of Double angles, 8 lanes (libm's scalar Double sin + cos cost ~27 ns a pair
    /// here; this ~2.5 ns per thread). a = k·π/2 + r with |r| ≤ π/4, r formed with two fused
    /// multiply-adds (error ≈ 1e-16 + |k|·1e-32, negligible for |a| < 2⁵²); then the Taylor
    /// series to r¹¹ (sin) and r¹² (cos), whose truncation error on |r| ≤ π/4 is below
    /// (π/4)¹³/13! ≈ 7e-12. The results round to the same Float as libm's Double sin/cos except
    /// when that value lies within 1e-11 of a Float rounding boundary.
    @inline(__always)
    static func sinCos(_ a: SIMD8<Double>) -> (sin: SIMD8<Double>, cos: SIMD8<Double>) {
        typealias V = SIMD8<Double>
        let k = (a * (2 / Double.pi)).rounded(.toNearestOrEven)
        let r = a.addingProduct(-k, halfPiHi).addingProduct(-k, halfPiLo)
        let z = r * r
        // Horner steps as fused multiply-adds: p ← c + p·z.
        @inline(__always) func step(_ p: V, _ c: Double) -> V { V(repeating: c).addingProduct(p, z) }
        let ps = step(step(step(step(V(repeating: -1.0 / 39_916_800), 1.0 / 362_880), -1.0 / 5040), 1.0 / 120), -1.0 / 6)
        let sr = r.addingProduct(r * z, ps)                             // r − r³/3! + … − r¹¹/11!
        let pc = step(step(step(step(step(V(repeating: 1.0 / 479_001_600), -1.0 / 3_628_800), 1.0 / 40320),
                                -1.0 / 720), 1.0 / 24), -0.5)
        let cr = V(repeating: 1).addingProduct(z, pc)                   // 1 − r²/2! + … + r¹²/12!
        // Quadrant q = k mod 4: (sin, cos)(r + qπ/2) = (s, c), (c, −s), (−s, −c), (−c, s).
        let q = k - 4 * (k * 0.25).rounded(.down)
        let odd = (q .== 1) .| (q .== 3)
        var sinA = sr.replacing(with: cr, where: odd)
        var cosA = cr.replacing(with: sr, where: odd)
        sinA.replace(with: -sinA, where: q .>= 2)
        cosA.replace(with: -cosA, where: (q .== 1) .| (q .== 2))
        return (sinA, cosA)
    }
}

/// Shapes of one RoPE call, checked once.
struct RotaryPlan {
    let batch: Int, tokens: Int, heads: Int, dim: Int, rotary: Int
    let shape: [Int]
    var half: Int { rotary / 2 }

    init(_ op: String, x: [Int], positions: Int, frequencies: [Int], rotaryDim: Int?) {
        requireArgument(x.count == 3 || x.count == 4,
                     "\(op): x must be [B, T, H, D] or [T, H, D], got shape \(x)")
        shape = x
        batch = x.count == 4 ? x[0] : 1
        (tokens, heads, dim) = (x[x.count - 3], x[x.count - 2], x[x.count - 1])
        rotary = rotaryDim ?? dim
        requireArgument(rotary >= 2 && rotary % 2 == 0 && rotary <= dim,
                     "\(op): rotaryDim \(rotary) must be even and in 2…\(dim) for x of shape \(x)")
        requireArgument(positions == tokens,
                     "\(op): \(positions) positions for x of shape \(x) (\(tokens) tokens)")
        requireArgument(frequencies == [rotary / 2],
                     "\(op): frequencies of shape \(frequencies) must be [\(rotary / 2)] (rotaryDim \(rotary), x \(x))")
    }

    private var rowCost: Int { heads * (rotary * 3 + dim) }

    /// m·R(φ)·x per pair (m·R(−φ)·x when `inverse`), pass-through elements copied.
    func rotate(_ x: Tensor, table: RotaryTable, layout: RotaryLayout, inverse: Bool) -> Tensor {
        let out = Tensor(zeros: shape)
        let (src, dst) = (UnsafePointer(x.pointer), out.pointer)
        let (cp, sp) = (UnsafePointer(table.cos.pointer), UnsafePointer(table.sin.pointer))
        let sign: Float = inverse ? -1 : 1
        let (tokens, heads, dim, rotary, half) = (self.tokens, self.heads, self.dim, self.rotary, self.half)
        Parallel.forEachChunk(batch * tokens, costPerItem: rowCost) { range in
            for row in range {
                let t = row % tokens
                let (c, s) = (cp + t * half, sp + t * half)
                for h in 0..<heads {
                    let base = (row * heads + h) * dim
                    switch layout {
                    case .rotateHalf: RotaryKernels.rotateHalf(src + base, dst + base, c, s, half: half, sign: sign)
                    case .interleaved: RotaryKernels.interleaved(src + base, dst + base, c, s, half: half, sign: sign)
                    }
                    if rotary < dim { (dst + base + rotary).update(from: src + base + rotary, count: dim - rotary) }
                }
            }
        }
        return out
    }

    /// Gradients to x (always) and to the frequencies (when asked); see `Ops.ropeBackward`.
    func backward(_ x: Tensor, gradient: Tensor, positions: [Float], table: RotaryTable, layout: RotaryLayout,
                  needFrequencies: Bool) -> (x: Tensor, frequencies: Tensor?) {
        ShapeCheck.require(ShapeCheck.same("ropeBackward gradient", shape, gradient.shape))
        guard needFrequencies else { return (rotate(gradient, table: table, layout: layout, inverse: true), nil) }
        let dx = Tensor(zeros: shape)
        let (xp, gp, dxp) = (UnsafePointer(x.pointer), UnsafePointer(gradient.pointer), dx.pointer)
        let (cp, sp) = (UnsafePointer(table.cos.pointer), UnsafePointer(table.sin.pointer))
        let (tokens, heads, dim, rotary, half) = (self.tokens, self.heads, self.dim, self.rotary, self.half)
        var partials: [(start: Int, sums: [Double])] = []
        let lock = NSLock()
        positions.withUnsafeBufferPointer { pos in
            Parallel.forEachChunk(batch * tokens, costPerItem: rowCost * 2) { range in
                var sums = [Double](repeating: 0, count: half)
                withUnsafeTemporaryAllocation(of: Float.self, capacity: half) { dPhi in
                    let dPhi = dPhi.baseAddress!
                    for row in range {
                        let t = row % tokens
                        let (c, s) = (cp + t * half, sp + t * half)
                        dPhi.update(repeating: 0, count: half)
                        for h in 0..<heads {
                            let base = (row * heads + h) * dim
                            let (xh, gh, dxh) = (xp + base, gp + base, dxp + base)
                            switch layout {
                            case .rotateHalf: RotaryKernels.rotateHalfBackward(xh, gh, dxh, dPhi, c, s, half: half)
                            case .interleaved: RotaryKernels.interleavedBackward(xh, gh, dxh, dPhi, c, s, half: half)
                            }
                            if rotary < dim {
                                (dxp + base + rotary).update(from: gp + base + rotary, count: dim - rotary)
                            }
                        }
                        let p = Double(pos[t])
                        for j in 0..<half { sums[j] += p * Double(dPhi[j]) }
                    }
                }
                lock.lock()
                partials.append((range.lowerBound, sums))
                lock.unlock()
            }
        }
        let df = Tensor(zeros: [half])
        var total = [Double](repeating: 0, count: half)
        for part in partials.sorted(by: { $0.start < $1.start }) {
            for j in 0..<half { total[j] += part.sums[j] }
        }
        for j in 0..<half { df.pointer[j] = Float(total[j]) }
        return (dx, df)
    }
}

/// The per-head loops. c, s point at the token's [r/2] table rows (m·cos φ, m·sin φ).
enum RotaryKernels {
    typealias V16 = SIMD16<Float>
    typealias V8 = SIMD8<Float>

    @inline(__always) static func load16(_ p: UnsafePointer<Float>) -> V16 {
        UnsafeRawPointer(p).loadUnaligned(as: V16.self)
    }

    @inline(__always) static func load8(_ p: UnsafePointer<Float>) -> V8 {
        UnsafeRawPointer(p).loadUnaligned(as: V8.self)
    }

    @inline(__always) static func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<Float>) where V.Scalar == Float {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// Pairs (i, i + half): out = (a·c − b·s', b·c + a·s'), s' = sign·s.
    @inline(__always)
    static func rotateHalf(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                           _ c: UnsafePointer<Float>, _ s: UnsafePointer<Float>, half: Int, sign: Float) {
        var i = 0
        while i + 16 <= half {
            let (a, b) = (load16(x + i), load16(x + half + i))
            let (cv, sv) = (load16(c + i), load16(s + i) * sign)
            store(a * cv - b * sv, out + i)
            store(b * cv + a * sv, out + half + i)
            i += 16
        }
        while i < half {
            let (a, b, cv, sv) = (x[i], x[half + i], c[i], s[i] * sign)
            out[i] = a * cv - b * sv
            out[half + i] = b * cv + a * sv
            i += 1
        }
    }

    /// Pairs (2j, 2j + 1): the same rotation on even/odd lanes.
    @inline(__always)
    static func interleaved(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                            _ c: UnsafePointer<Float>, _ s: UnsafePointer<Float>, half: Int, sign: Float) {
        var j = 0
        while j + 8 <= half {
            let v = load16(x + 2 * j)
            let (a, b) = (v.evenHalf, v.oddHalf)
            let (cv, sv) = (load8(c + j), load8(s + j) * sign)
            var o = V16()
            o.evenHalf = a * cv - b * sv
            o.oddHalf = b * cv + a * sv
            store(o, out + 2 * j)
            j += 8
        }
        while j < half {
            let (a, b, cv, sv) = (x[2 * j], x[2 * j + 1], c[j], s[j] * sign)
            out[2 * j] = a * cv - b * sv
            out[2 * j + 1] = b * cv + a * sv
            j += 1
        }
    }

    /// dx = (g_a·c + g_b·s, g_b·c − g_a·s); dPhi += c·(g_b·a − g_a·b) − s·(g_a·a + g_b·b).
    @inline(__always)
    static func rotateHalfBackward(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
                                   _ dx: UnsafeMutablePointer<Float>, _ dPhi: UnsafeMutablePointer<Float>,
                                   _ c: UnsafePointer<Float>, _ s: UnsafePointer<Float>, half: Int) {
        var i = 0
        while i + 16 <= half {
            let (a, b, ga, gb) = (load16(x + i), load16(x + half + i), load16(g + i), load16(g + half + i))
            let (cv, sv) = (load16(c + i), load16(s + i))
            store(ga * cv + gb * sv, dx + i)
            store(gb * cv - ga * sv, dx + half + i)
            store(load16(dPhi + i) + cv * (gb * a - ga * b) - sv * (ga * a + gb * b), dPhi + i)
            i += 16
        }
        while i < half {
            let (a, b, ga, gb, cv, sv) = (x[i], x[half + i], g[i], g[half + i], c[i], s[i])
            dx[i] = ga * cv + gb * sv
            dx[half + i] = gb * cv - ga * sv
            dPhi[i] += cv * (gb * a - ga * b) - sv * (ga * a + gb * b)
            i += 1
        }
    }

    /// The interleaved counterpart of `rotateHalfBackward`.
    @inline(__always)
    static func interleavedBackward(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
                                    _ dx: UnsafeMutablePointer<Float>, _ dPhi: UnsafeMutablePointer<Float>,
                                    _ c: UnsafePointer<Float>, _ s: UnsafePointer<Float>, half: Int) {
        var j = 0
        while j + 8 <= half {
            let (xv, gv) = (load16(x + 2 * j), load16(g + 2 * j))
            let (a, b, ga, gb) = (xv.evenHalf, xv.oddHalf, gv.evenHalf, gv.oddHalf)
            let (cv, sv) = (load8(c + j), load8(s + j))
            var o = V16()
            o.evenHalf = ga * cv + gb * sv
            o.oddHalf = gb * cv - ga * sv
            store(o, dx + 2 * j)
            store(load8(dPhi + j) + cv * (gb * a - ga * b) - sv * (ga * a + gb * b), dPhi + j)
            j += 8
        }
        while j < half {
            let (a, b, ga, gb, cv, sv) = (x[2 * j], x[2 * j + 1], g[2 * j], g[2 * j + 1], c[j], s[j])
            dx[2 * j] = ga * cv + gb * sv
            dx[2 * j + 1] = gb * cv - ga * sv
            dPhi[j] += cv * (gb * a - ga * b) - sv * (ga * a + gb * b)
            j += 1
        }
    }
}
