/// The LLaMA MLP gate, fused: silu(gate) ⊙ up in one pass, so the activated gate is never stored.
extension Ops {
    /// silu(gate) ⊙ up = gate·σ(gate)·up element-wise.
    ///
    /// - gate, up: the same shape (typically [tokens, intermediate])
    /// - result: that shape
    public static func swiglu(_ gate: Tensor, _ up: Tensor) -> Tensor {
        PointwiseKernel.map("swiglu", gate, up, ActivationLane.SwiGLU.self, costPerElement: 25)
    }

    /// Gradients of `swiglu(gate, up)` given the result's gradient g (all the same shape):
    /// d gate = g·up·σ(gate)·(1 + gate·(1 − σ(gate))), d up = g·silu(gate). Each is computed only
    /// when asked for; both come from one pass over the inputs when both are.
    public static func swigluBackward(_ gate: Tensor, _ up: Tensor, gradient g: Tensor,
                                      needGate: Bool = true, needUp: Bool = true)
        -> (gate: Tensor?, up: Tensor?) {
        ShapeCheck.require(ShapeCheck.same("swigluBackward", gate.shape, up.shape))
        ShapeCheck.require(ShapeCheck.same("swigluBackward gradient", gate.shape, g.shape))
        let dGate = needGate ? Tensor(zeros: gate.shape) : nil
        let dUp = needUp ? Tensor(zeros: gate.shape) : nil
        if dGate == nil && dUp == nil { return (nil, nil) }
        let (pa, pb, pg) = (UnsafePointer(gate.pointer), UnsafePointer(up.pointer), UnsafePointer(g.pointer))
        let (da, db) = (dGate?.pointer, dUp?.pointer)
        typealias K = PointwiseKernel
        PointwiseKernel.forEachRange(gate.count, costPerElement: 30) { lo, hi in
            @inline(__always) func step(_ a: K.Vector, _ b: K.Vector, _ g: K.Vector) -> (K.Vector, K.Vector) {
                let s = FastMath.sigmoid(a)
                return (g * b * s * (1 + a * (1 - s)), g * a * s)
            }
            var i = lo
            while i + 16 <= hi {
                let (x, y) = step(K.load(pa + i), K.load(pb + i), K.load(pg + i))
                if let da { K.store(x, da + i) }
                if let db { K.store(y, db + i) }
                i += 16
            }
            if i < hi {
                let n = hi - i
                let (x, y) = step(K.load(pa + i, count: n, fill: 0), K.load(pb + i, count: n, fill: 0),
                                  K.load(pg + i, count: n, fill: 0))
                if let da { K.store(x, da + i, count: n) }
                if let db { K.store(y, db + i, count: n) }
            }
        }
        return (dGate, dUp)
    }
}

extension ActivationLane {
    /// (gate, up) ↦ gate·σ(gate)·up.
    enum SwiGLU: BinaryLaneFunction {
        @inline(__always) static func apply(_ a: Vector, _ b: Vector) -> Vector { a * FastMath.sigmoid(a) * b }
    }
}

extension Variable {
    /// silu(self) ⊙ up, with `self` the gate projection (same shape as `up`).
    public func swiglu(_ up: Variable) -> Variable {
        let gate = self
        return record(Ops.swiglu(gate.value, up.value), inputs: [gate, up]) { g, sink in
            let (dGate, dUp) = Ops.swigluBackward(gate.value, up.value, gradient: g,
                                                  needGate: gate.requiresGrad, needUp: up.requiresGrad)
            if let dGate { sink.add(dGate, to: gate) }
            if let dUp { sink.add(dUp, to: up) }
        }
    }
}
