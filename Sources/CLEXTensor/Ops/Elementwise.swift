/// Addition, multiplication and scaling, with broadcasting of a trailing-shape operand
/// (`b.shape` equal to the last dimensions of `a.shape`, e.g. a bias row over tokens).
extension Ops {
    /// a + b, b broadcast over a's leading dimensions.
    public static func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        binary("add", a, b) { $0 + $1 }
    }

    /// a − b, b broadcast over a's leading dimensions.
    public static func sub(_ a: Tensor, _ b: Tensor) -> Tensor {
        binary("sub", a, b) { $0 - $1 }
    }

    /// a ⊙ b (element-wise), b broadcast over a's leading dimensions.
    public static func mul(_ a: Tensor, _ b: Tensor) -> Tensor {
        binary("mul", a, b) { $0 * $1 }
    }

    /// s · a.
    public static func scale(_ a: Tensor, _ s: Float) -> Tensor {
        let out = Tensor(zeros: a.shape)
        let (src, dst) = (a.pointer, out.pointer)
        Parallel.forEachChunk(a.count) { r in
            for i in r { dst[i] = src[i] * s }
        }
        return out
    }

    /// a += b in place (same count).
    public static func addInPlace(_ a: Tensor, _ b: Tensor) {
        ShapeCheck.require(ShapeCheck.same("addInPlace", a.shape, b.shape))
        let (x, y) = (a.pointer, b.pointer)
        Parallel.forEachChunk(a.count) { r in
            for i in r { x[i] += y[i] }
        }
    }

    /// Sum of all elements, accumulated in Double.
    public static func sumAll(_ a: Tensor) -> Double {
        let p = a.pointer
        var s = 0.0
        for i in 0..<a.count { s += Double(p[i]) }
        return s
    }

    /// Sums `a` over its leading dimensions down to `shape` (a trailing part of `a.shape`):
    /// the gradient of a broadcast.
    public static func reduceToSuffix(_ a: Tensor, shape: [Int]) -> Tensor {
        ShapeCheck.require(ShapeCheck.suffix("reduceToSuffix", a.shape, shape))
        if shape == a.shape { return a }
        let inner = shape.reduce(1, *)
        let outer = inner == 0 ? 0 : a.count / inner
        let out = Tensor(zeros: shape)
        let (src, dst) = (a.pointer, out.pointer)
        Parallel.forEachChunk(inner, costPerItem: outer) { r in
            for o in 0..<outer {
                let row = src + o * inner
                for i in r { dst[i] += row[i] }
            }
        }
        return out
    }

    @inline(__always)
    static func binary(_ name: String, _ a: Tensor, _ b: Tensor, _ f: @escaping (SIMD16<Float>, SIMD16<Float>) -> SIMD16<Float>) -> Tensor {
        ShapeCheck.require(ShapeCheck.suffix(name, a.shape, b.shape))
        let out = Tensor(zeros: a.shape)
        let inner = b.count
        if inner == 0 { return out }
        let (x, y, z) = (a.pointer, b.pointer, out.pointer)
        let rows = a.count / inner
        Parallel.forEachChunk(rows, costPerItem: inner) { r in
            for row in r {
                let xr = x + row * inner, zr = z + row * inner
                var i = 0
                while i + 16 <= inner {
                    let v = f(UnsafeRawPointer(xr + i).loadUnaligned(as: SIMD16<Float>.self),
                              UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<Float>.self))
                    UnsafeMutableRawPointer(zr + i).storeBytes(of: v, as: SIMD16<Float>.self)
                    i += 16
                }
                while i < inner {
                    zr[i] = f(SIMD16(repeating: xr[i]), SIMD16(repeating: y[i]))[0]
                    i += 1
                }
            }
        }
        return out
    }
}

extension Variable {
    /// self + other (other may be a trailing-shape operand, broadcast).
    public static func + (a: Variable, b: Variable) -> Variable {
        a.record(Ops.add(a.value, b.value), inputs: [a, b]) { g, sink in
            sink.add(g, to: a)
            if b.requiresGrad { sink.add(Ops.reduceToSuffix(g, shape: b.shape), to: b) }
        }
    }

    /// self − other (other may be a trailing-shape operand, broadcast).
    public static func - (a: Variable, b: Variable) -> Variable {
        a.record(Ops.sub(a.value, b.value), inputs: [a, b]) { g, sink in
            sink.add(g, to: a)
            if b.requiresGrad { sink.add(Ops.reduceToSuffix(Ops.scale(g, -1), shape: b.shape), to: b) }
        }
    }

    /// Element-wise product (other may be a trailing-shape operand, broadcast).
    public static func * (a: Variable, b: Variable) -> Variable {
        a.record(Ops.mul(a.value, b.value), inputs: [a, b]) { g, sink in
            if a.requiresGrad { sink.add(Ops.mul(g, b.value), to: a) }
            if b.requiresGrad { sink.add(Ops.reduceToSuffix(Ops.mul(g, a.value), shape: b.shape), to: b) }
        }
    }

    /// s · self.
    public func scaled(by s: Float) -> Variable {
        record(Ops.scale(value, s), inputs: [self]) { g, sink in
            sink.add(Ops.scale(g, s), to: self)
        }
    }

    /// Sum of all elements as a scalar (shape []).
    public func sum() -> Variable {
        let shape = self.shape
        return record(Tensor(scalar: Float(Ops.sumAll(value))), inputs: [self]) { g, sink in
            sink.add(Tensor(shape: shape, repeating: g.item), to: self)
        }
    }

    /// Mean of all elements as a scalar (shape []).
    public func mean() -> Variable {
        let n = Float(value.count)
        return sum().scaled(by: 1 / n)
    }

    /// The same elements under another shape (a view; the gradient is reshaped back).
    public func reshaped(_ shape: [Int]) -> Variable {
        let original = self.shape
        return record(value.reshaped(shape), inputs: [self]) { g, sink in
            sink.add(g.reshaped(original), to: self)
        }
    }
}
