import Foundation

/// Softmax and log-softmax over the last dimension, max-subtracted so that any finite logits work
/// (a row of −inf entries but one gives a one-hot row; −inf entries give exactly 0, as masks need).
extension Ops {
    /// softmax over the last dimension: y = e^(x − max) / Σ e^(x − max) per row.
    ///
    /// - x: [..., n] (rank ≥ 1)
    /// - result: x's shape
    public static func softmax(_ x: Tensor) -> Tensor {
        let (rows, n) = PointwiseKernel.rows("softmax", x)
        let out = Tensor(zeros: x.shape)
        let (src, dst) = (UnsafePointer(x.pointer), out.pointer)
        Parallel.forEachChunk(rows, costPerItem: n * 26) { r in
            for row in r {
                let xr = src + row * n, yr = dst + row * n
                let m = PointwiseKernel.rowMax(xr, n)
                let s = PointwiseKernel.expShifted(xr, into: yr, n, shift: m)
                PointwiseKernel.scale(yr, n, by: 1 / s)
            }
        }
        return out
    }

    /// Gradient of `softmax` from its result y and the result's gradient g ([..., n] both):
    /// dx = y ⊙ (g − Σ_row g ⊙ y).
    public static func softmaxBackward(output y: Tensor, gradient g: Tensor) -> Tensor {
        ShapeCheck.require(ShapeCheck.same("softmaxBackward", y.shape, g.shape))
        let (rows, n) = PointwiseKernel.rows("softmaxBackward", y)
        let out = Tensor(zeros: y.shape)
        let (py, pg, dst) = (UnsafePointer(y.pointer), UnsafePointer(g.pointer), out.pointer)
        typealias K = PointwiseKernel
        Parallel.forEachChunk(rows, costPerItem: n * 4) { r in
            for row in r {
                let yr = py + row * n, gr = pg + row * n, dr = dst + row * n
                let dot = K.Vector(repeating: K.dot(yr, gr, n))
                var i = 0
                while i + 16 <= n {
                    K.store(K.load(yr + i) * (K.load(gr + i) - dot), dr + i)
                    i += 16
                }
                if i < n {
                    let c = n - i
                    K.store(K.load(yr + i, count: c, fill: 0) * (K.load(gr + i, count: c, fill: 0) - dot), dr + i, count: c)
                }
            }
        }
        return out
    }

    /// log-softmax over the last dimension: y = (x − max) − log Σ e^(x − max) per row.
    ///
    /// - x: [..., n] (rank ≥ 1)
    /// - result: x's shape
    public static func logSoftmax(_ x: Tensor) -> Tensor {
        let (rows, n) = PointwiseKernel.rows("logSoftmax", x)
        let out = Tensor(zeros: x.shape)
        let (src, dst) = (UnsafePointer(x.pointer), out.pointer)
        typealias K = PointwiseKernel
        Parallel.forEachChunk(rows, costPerItem: n * 24) { r in
            for row in r {
                let xr = src + row * n, yr = dst + row * n
                let m = K.rowMax(xr, n)
                // (x − max) − logSum, not x − (max + logSum): no rounding of a sum near 1e4 for huge logits.
                let mv = K.Vector(repeating: m)
                let lv = K.Vector(repeating: Foundation.log(K.sumExp(xr, n, shift: m)))
                var i = 0
                while i + 16 <= n {
                    K.store((K.load(xr + i) - mv) - lv, yr + i)
                    i += 16
                }
                if i < n { K.store((K.load(xr + i, count: n - i, fill: 0) - mv) - lv, yr + i, count: n - i) }
            }
        }
        return out
    }

    /// Gradient of `logSoftmax` from its result y and the result's gradient g ([..., n] both):
    /// dx = g − e^y · Σ_row g.
    public static func logSoftmaxBackward(output y: Tensor, gradient g: Tensor) -> Tensor {
        ShapeCheck.require(ShapeCheck.same("logSoftmaxBackward", y.shape, g.shape))
        let (rows, n) = PointwiseKernel.rows("logSoftmaxBackward", y)
        let out = Tensor(zeros: y.shape)
        let (py, pg, dst) = (UnsafePointer(y.pointer), UnsafePointer(g.pointer), out.pointer)
        typealias K = PointwiseKernel
        Parallel.forEachChunk(rows, costPerItem: n * 22) { r in
            for row in r {
                let yr = py + row * n, gr = pg + row * n, dr = dst + row * n
                let total = K.Vector(repeating: K.sum(gr, n))
                var i = 0
                while i + 16 <= n {
                    K.store(K.load(gr + i) - FastMath.exp(K.load(yr + i)) * total, dr + i)
                    i += 16
                }
                if i < n {
                    let c = n - i
                    let v = K.load(gr + i, count: c, fill: 0) - FastMath.exp(K.load(yr + i, count: c, fill: 0)) * total
                    K.store(v, dr + i, count: c)
                }
            }
        }
        return out
    }
}

extension Variable {
    /// softmax over the last dimension (same shape as `self`).
    public func softmax() -> Variable {
        let y = Ops.softmax(value)
        return record(y, inputs: [self]) { g, sink in
            sink.add(Ops.softmaxBackward(output: y, gradient: g), to: self)
        }
    }

    /// log-softmax over the last dimension (same shape as `self`).
    public func logSoftmax() -> Variable {
        let y = Ops.logSoftmax(value)
        return record(y, inputs: [self]) { g, sink in
            sink.add(Ops.logSoftmaxBackward(output: y, gradient: g), to: self)
        }
    }
}

/// Row reductions shared by softmax, cross-entropy and RMSNorm. Each row is `n` contiguous floats;
/// sums use two 16-lane Float accumulators (32 partial sums, so a 49152-wide row adds ~1.5k terms
/// per lane) reduced in Double.
extension PointwiseKernel {
    /// (rows, row length) of a tensor treated as rows over its last dimension (rank ≥ 1 required).
    static func rows(_ op: String, _ x: Tensor) -> (rows: Int, n: Int) {
        requireArgument(x.rank >= 1, "\(op): needs at least one dimension, got shape \(x.shape)")
        let n = x.shape[x.rank - 1]
        return (n == 0 ? 0 : x.count / n, n)
    }

    /// Lane sums reduced to one Float through Double.
    @inline(__always)
    static func total(_ v: Vector) -> Float {
        var s = 0.0
        for l in 0..<16 { s += Double(v[l]) }
        return Float(s)
    }

    /// The largest of p[0..<n] (−inf for an empty row; NaNs are skipped).
    @inline(__always)
    static func rowMax(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var m0 = Vector(repeating: -.infinity), m1 = m0
        var i = 0
        while i + 32 <= n {
            let a = load(p + i), b = load(p + i + 16)
            m0.replace(with: a, where: a .> m0)
            m1.replace(with: b, where: b .> m1)
            i += 32
        }
        if i + 16 <= n {
            let a = load(p + i)
            m0.replace(with: a, where: a .> m0)
            i += 16
        }
        if i < n {
            let a = load(p + i, count: n - i, fill: -.infinity)
            m1.replace(with: a, where: a .> m1)
        }
        m0.replace(with: m1, where: m1 .> m0)
        return m0.max()
    }

    /// Σ e^(p[i] − shift) over the row.
    @inline(__always)
    static func sumExp(_ p: UnsafePointer<Float>, _ n: Int, shift: Float) -> Float {
        let m = Vector(repeating: shift)
        var s0 = Vector(repeating: 0), s1 = s0
        var i = 0
        while i + 32 <= n {
            s0 += FastMath.exp(load(p + i) - m)
            s1 += FastMath.exp(load(p + i + 16) - m)
            i += 32
        }
        if i + 16 <= n {
            s0 += FastMath.exp(load(p + i) - m)
            i += 16
        }
        if i < n { s1 += FastMath.exp(load(p + i, count: n - i, fill: -.infinity) - m) }
        return total(s0 + s1)
    }

    /// The row's maximum m and Σ e^(p[i] − m), reading the row from memory once: blocks of 1024
    /// elements (4 KB, in L1) get their maximum, then their exponentials, so that the hardware
    /// prefetcher streams the next block while the current one is exponentiated. The running sum
    /// is rescaled by e^(m_old − m_new) when a block raises the maximum.
    @inline(__always)
    static func maxAndSumExp(_ p: UnsafePointer<Float>, _ n: Int) -> (max: Float, sum: Float) {
        var m = -Float.infinity
        var s: Float = 0
        var start = 0
        while start < n {
            let len = min(1024, n - start)
            let bm = rowMax(p + start, len)
            if bm > m {
                if s > 0 { s *= FastMath.exp(Vector(repeating: m - bm))[0] }
                m = bm
            }
            // While every element so far is −inf the sum stays 0 (and −inf − −inf would be NaN).
            if m > -.infinity { s += sumExp(p + start, len, shift: m) }
            start += len
        }
        return (m, s)
    }

    /// Writes e^(src[i] − shift) to dst and returns their sum.
    @inline(__always)
    static func expShifted(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, _ n: Int,
                           shift: Float) -> Float {
        let m = Vector(repeating: shift)
        var s0 = Vector(repeating: 0), s1 = s0
        var i = 0
        while i + 32 <= n {
            let a = FastMath.exp(load(src + i) - m), b = FastMath.exp(load(src + i + 16) - m)
            store(a, dst + i)
            store(b, dst + i + 16)
            s0 += a
            s1 += b
            i += 32
        }
        if i + 16 <= n {
            let a = FastMath.exp(load(src + i) - m)
            store(a, dst + i)
            s0 += a
            i += 16
        }
        if i < n {
            let a = FastMath.exp(load(src + i, count: n - i, fill: -.infinity) - m)
            store(a, dst + i, count: n - i)
            s1 += a
        }
        return total(s0 + s1)
    }

    /// p[i] *= s over the row.
    @inline(__always)
    static func scale(_ p: UnsafeMutablePointer<Float>, _ n: Int, by s: Float) {
        let v = Vector(repeating: s)
        var i = 0
        while i + 16 <= n {
            store(load(p + i) * v, p + i)
            i += 16
        }
        while i < n {
            p[i] *= s
            i += 1
        }
    }

    /// Σ p[i].
    @inline(__always)
    static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var s0 = Vector(repeating: 0), s1 = s0
        var i = 0
        while i + 32 <= n {
            s0 += load(p + i)
            s1 += load(p + i + 16)
            i += 32
        }
        if i + 16 <= n {
            s0 += load(p + i)
            i += 16
        }
        if i < n { s1 += load(p + i, count: n - i, fill: 0) }
        return total(s0 + s1)
    }

    /// Σ a[i]·b[i].
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var s0 = Vector(repeating: 0), s1 = s0
        var i = 0
        while i + 32 <= n {
            s0.addProduct(load(a + i), load(b + i))
            s1.addProduct(load(a + i + 16), load(b + i + 16))
            i += 32
        }
        if i + 16 <= n {
            s0.addProduct(load(a + i), load(b + i))
            i += 16
        }
        if i < n { s1.addProduct(load(a + i, count: n - i, fill: 0), load(b + i, count: n - i, fill: 0)) }
        return total(s0 + s1)
    }
}
