import Foundation

/// Element-wise activations and their derivatives: SiLU, tanh, exp, log and sigmoid, on tensors of
/// any shape. SiLU, tanh, exp and sigmoid use `FastMath` on 16 lanes (so exp saturates at e^88
/// instead of overflowing, and gives 0 below −87.3); log is not on a hot path and calls libm's
/// `logf` per element for full accuracy.
extension Ops {
    /// SiLU (swish): x·σ(x). Any shape; the result has x's shape.
    public static func silu(_ x: Tensor) -> Tensor {
        PointwiseKernel.map(x, ActivationLane.SiLU.self, costPerElement: 24)
    }

    /// Gradient of `silu` with respect to its input x, given the result's gradient g (x's shape):
    /// g·σ(x)·(1 + x·(1 − σ(x))).
    public static func siluBackward(_ x: Tensor, gradient g: Tensor) -> Tensor {
        PointwiseKernel.map("siluBackward", x, g, ActivationLane.SiLUBackward.self, costPerElement: 28)
    }

    /// tanh(x) element-wise. Any shape.
    public static func tanh(_ x: Tensor) -> Tensor {
        PointwiseKernel.map(x, ActivationLane.Tanh.self, costPerElement: 28)
    }

    /// Gradient of `tanh` from its result y = tanh(x) and the result's gradient g (same shape):
    /// g·(1 − y²).
    public static func tanhBackward(output y: Tensor, gradient g: Tensor) -> Tensor {
        PointwiseKernel.map("tanhBackward", y, g, ActivationLane.TanhBackward.self, costPerElement: 3)
    }

    /// e^x element-wise (saturates at e^88 ≈ 1.65e38; 0 below −87.3). Any shape.
    public static func exp(_ x: Tensor) -> Tensor {
        PointwiseKernel.map(x, ActivationLane.Exp.self, costPerElement: 20)
    }

    /// Gradient of `exp` from its result y = e^x and the result's gradient g (same shape): g·y.
    public static func expBackward(output y: Tensor, gradient g: Tensor) -> Tensor {
        PointwiseKernel.map("expBackward", y, g, ActivationLane.Product.self, costPerElement: 1)
    }

    /// Natural logarithm element-wise, with libm's accuracy (log 0 = −inf, log of a negative = NaN).
    /// Any shape.
    public static func log(_ x: Tensor) -> Tensor {
        let out = Tensor(zeros: x.shape)
        let (src, dst) = (x.pointer, out.pointer)
        Parallel.forEachChunk(x.count, costPerItem: 20) { r in
            for i in r { dst[i] = Foundation.log(src[i]) }
        }
        return out
    }

    /// Gradient of `log` from its input x and the result's gradient g (same shape): g / x.
    public static func logBackward(_ x: Tensor, gradient g: Tensor) -> Tensor {
        PointwiseKernel.map("logBackward", x, g, ActivationLane.Quotient.self, costPerElement: 4)
    }

    /// Logistic sigmoid 1 / (1 + e^−x) element-wise. Any shape.
    public static func sigmoid(_ x: Tensor) -> Tensor {
        PointwiseKernel.map(x, ActivationLane.Sigmoid.self, costPerElement: 24)
    }

    /// Gradient of `sigmoid` from its result y = σ(x) and the result's gradient g (same shape):
    /// g·y·(1 − y).
    public static func sigmoidBackward(output y: Tensor, gradient g: Tensor) -> Tensor {
        PointwiseKernel.map("sigmoidBackward", y, g, ActivationLane.SigmoidBackward.self, costPerElement: 3)
    }
}

/// The lane functions of the activations, as types rather than closures so that each
/// `PointwiseKernel.map` is specialised and inlined into its parallel loop (a captured closure
/// costs ~40% on these bandwidth-bound loops).
enum ActivationLane {
    typealias Vector = PointwiseKernel.Vector

    /// x ↦ x·σ(x).
    enum SiLU: UnaryLaneFunction {
        @inline(__always) static func apply(_ x: Vector) -> Vector { x * FastMath.sigmoid(x) }
    }

    /// (x, g) ↦ g·σ(x)·(1 + x·(1 − σ(x))).
    enum SiLUBackward: BinaryLaneFunction {
        @inline(__always) static func apply(_ x: Vector, _ g: Vector) -> Vector {
            let s = FastMath.sigmoid(x)
            return g * s * (1 + x * (1 - s))
        }
    }

    /// x ↦ tanh x.
    enum Tanh: UnaryLaneFunction {
        @inline(__always) static func apply(_ x: Vector) -> Vector { FastMath.tanh(x) }
    }

    /// (y, g) ↦ g·(1 − y²).
    enum TanhBackward: BinaryLaneFunction {
        @inline(__always) static func apply(_ y: Vector, _ g: Vector) -> Vector { g * (1 - y * y) }
    }

    /// x ↦ e^x.
    enum Exp: UnaryLaneFunction {
        @inline(__always) static func apply(_ x: Vector) -> Vector { FastMath.exp(x) }
    }

    /// (y, g) ↦ g·y.
    enum Product: BinaryLaneFunction {
        @inline(__always) static func apply(_ y: Vector, _ g: Vector) -> Vector { g * y }
    }

    /// (x, g) ↦ g / x.
    enum Quotient: BinaryLaneFunction {
        @inline(__always) static func apply(_ x: Vector, _ g: Vector) -> Vector { g / x }
    }

    /// x ↦ σ(x).
    enum Sigmoid: UnaryLaneFunction {
        @inline(__always) static func apply(_ x: Vector) -> Vector { FastMath.sigmoid(x) }
    }

    /// (y, g) ↦ g·y·(1 − y).
    enum SigmoidBackward: BinaryLaneFunction {
        @inline(__always) static func apply(_ y: Vector, _ g: Vector) -> Vector { g * y * (1 - y) }
    }
}

extension Variable {
    /// SiLU x·σ(x) element-wise (the LLaMA MLP activation). Same shape as `self`.
    public func silu() -> Variable {
        record(Ops.silu(value), inputs: [self]) { g, sink in
            sink.add(Ops.siluBackward(self.value, gradient: g), to: self)
        }
    }

    /// tanh element-wise. Same shape as `self`.
    public func tanh() -> Variable {
        let y = Ops.tanh(value)
        return record(y, inputs: [self]) { g, sink in
            sink.add(Ops.tanhBackward(output: y, gradient: g), to: self)
        }
    }

    /// e^x element-wise. Same shape as `self`.
    public func exp() -> Variable {
        let y = Ops.exp(value)
        return record(y, inputs: [self]) { g, sink in
            sink.add(Ops.expBackward(output: y, gradient: g), to: self)
        }
    }

    /// Natural logarithm element-wise. Same shape as `self`.
    public func log() -> Variable {
        record(Ops.log(value), inputs: [self]) { g, sink in
            sink.add(Ops.logBackward(self.value, gradient: g), to: self)
        }
    }

    /// Logistic sigmoid element-wise. Same shape as `self`.
    public func sigmoid() -> Variable {
        let y = Ops.sigmoid(value)
        return record(y, inputs: [self]) { g, sink in
            sink.add(Ops.sigmoidBackward(output: y, gradient: g), to: self)
        }
    }
}

/// SIMD16 loops shared by the point-wise kernels (activations, SwiGLU, softmax, cross-entropy,
/// RMSNorm): unaligned 16-lane loads and stores, partial loads for row tails, and parallel maps
/// over whole tensors split at multiples of 16 elements.
enum PointwiseKernel {
    typealias Vector = SIMD16<Float>

    /// 16 elements from `p`.
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    /// The first `count` (< 16) elements from `p`; the other lanes hold `fill`.
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, count: Int, fill: Float) -> Vector {
        var v = Vector(repeating: fill)
        for l in 0..<count { v[l] = p[l] }
        return v
    }

    /// Writes 16 elements at `p`.
    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
    }

    /// Writes the first `count` (< 16) lanes of `v` at `p`.
    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>, count: Int) {
        for l in 0..<count { p[l] = v[l] }
    }

    /// Calls `body(start, end)` on disjoint element ranges covering `0..<count` whose starts are
    /// multiples of 16, in parallel when the work is large enough.
    @inline(__always)
    static func forEachRange(_ count: Int, costPerElement: Int, _ body: (Int, Int) -> Void) {
        let blocks = (count + 15) / 16
        Parallel.forEachChunk(blocks, costPerItem: 16 * costPerElement) { r in
            body(r.lowerBound * 16, min(r.upperBound * 16, count))
        }
    }

    /// F applied lane-wise to every element of `x` (fresh tensor of x's shape).
    @inline(__always)
    static func map<F: UnaryLaneFunction>(_ x: Tensor, _: F.Type, costPerElement: Int) -> Tensor {
        let out = Tensor(zeros: x.shape)
        let (src, dst) = (UnsafePointer(x.pointer), out.pointer)
        forEachRange(x.count, costPerElement: costPerElement) { lo, hi in
            var i = lo
            while i + 16 <= hi {
                store(F.apply(load(src + i)), dst + i)
                i += 16
            }
            if i < hi { store(F.apply(load(src + i, count: hi - i, fill: 0)), dst + i, count: hi - i) }
        }
        return out
    }

    /// F applied lane-wise to corresponding elements of `a` and `b`, which must have the same shape.
    @inline(__always)
    static func map<F: BinaryLaneFunction>(_ name: String, _ a: Tensor, _ b: Tensor, _: F.Type,
                                           costPerElement: Int) -> Tensor {
        ShapeCheck.require(ShapeCheck.same(name, a.shape, b.shape))
        let out = Tensor(zeros: a.shape)
        let (pa, pb, dst) = (UnsafePointer(a.pointer), UnsafePointer(b.pointer), out.pointer)
        forEachRange(a.count, costPerElement: costPerElement) { lo, hi in
            var i = lo
            while i + 16 <= hi {
                store(F.apply(load(pa + i), load(pb + i)), dst + i)
                i += 16
            }
            if i < hi {
                let n = hi - i
                store(F.apply(load(pa + i, count: n, fill: 1), load(pb + i, count: n, fill: 0)), dst + i, count: n)
            }
        }
        return out
    }
}

/// A function applied to 16 lanes at a time by `PointwiseKernel.map`.
protocol UnaryLaneFunction {
    static func apply(_ x: PointwiseKernel.Vector) -> PointwiseKernel.Vector
}

/// A function of two 16-lane vectors applied by `PointwiseKernel.map`.
protocol BinaryLaneFunction {
    static func apply(_ a: PointwiseKernel.Vector, _ b: PointwiseKernel.Vector) -> PointwiseKernel.Vector
}
