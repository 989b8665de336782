import Foundation

/// The Gaussian error linear unit, in the two forms checkpoints name (transformers'
/// `ACT2FN`): exact, x·Φ(x) = ½x(1 + erf(x/√2)) (`gelu`, GPT-NeoX), and the tanh approximation
/// ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (`gelu_new`, `gelu_pytorch_tanh`, Phi-2). Each element
/// is evaluated in Double with libm's erf/tanh and rounded once.
public enum GELUApproximation: String, Sendable, CaseIterable {
    case none, tanh
}

extension Ops {
    /// GELU element-wise. Any shape; the result has x's shape.
    public static func gelu(_ x: Tensor, approximation: GELUApproximation) -> Tensor {
        let out = Tensor(zeros: x.shape)
        let (src, dst) = (UnsafePointer(x.pointer), out.pointer)
        Parallel.forEachChunk(x.count, costPerItem: 30) { range in
            switch approximation {
            case .none: for i in range { dst[i] = Float(GELUMath.exact(Double(src[i]))) }
            case .tanh: for i in range { dst[i] = Float(GELUMath.tanhForm(Double(src[i]))) }
            }
        }
        return out
    }

    /// Gradient of `gelu` with respect to its input x, given the result's gradient g (x's shape):
    /// exact: g·(Φ(x) + x·φ(x)); tanh form, with u = √(2/π)(x + 0.044715x³) and t = tanh u:
    /// g·(½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)).
    public static func geluBackward(_ x: Tensor, gradient g: Tensor, approximation: GELUApproximation) -> Tensor {
        ShapeCheck.require(ShapeCheck.same("geluBackward", x.shape, g.shape))
        let out = Tensor(zeros: x.shape)
        let (src, grad, dst) = (UnsafePointer(x.pointer), UnsafePointer(g.pointer), out.pointer)
        Parallel.forEachChunk(x.count, costPerItem: 40) { range in
            switch approximation {
            case .none: for i in range { dst[i] = Float(Double(grad[i]) * GELUMath.exactDerivative(Double(src[i]))) }
            case .tanh: for i in range { dst[i] = Float(Double(grad[i]) * GELUMath.tanhFormDerivative(Double(src[i]))) }
            }
        }
        return out
    }
}

/// GELU and its derivative per element, in Double.
enum GELUMath {
    static let sqrtHalf = 0.5.squareRoot()
    static let sqrtTwoOverPi = (2 / Double.pi).squareRoot()
    static let cubic = 0.044715

    @inline(__always) static func exact(_ x: Double) -> Double { 0.5 * x * (1 + erf(x * sqrtHalf)) }

    @inline(__always) static func exactDerivative(_ x: Double) -> Double {
        0.5 * (1 + erf(x * sqrtHalf)) + x * Foundation.exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
    }

    @inline(__always) static func tanhForm(_ x: Double) -> Double {
        0.5 * x * (1 + Foundation.tanh(sqrtTwoOverPi * (x + cubic * x * x * x)))
    }

    @inline(__always) static func tanhFormDerivative(_ x: Double) -> Double {
        let t = Foundation.tanh(sqrtTwoOverPi * (x + cubic * x * x * x))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * sqrtTwoOverPi * (1 + 3 * cubic * x * x)
    }
}

extension Variable {
    /// GELU element-wise (exact or tanh form).
    public func gelu(approximation: GELUApproximation) -> Variable {
        let x = self
        return record(Ops.gelu(x.value, approximation: approximation), inputs: [x]) { g, sink in
            sink.add(Ops.geluBackward(x.value, gradient: g, approximation: approximation), to: x)
        }
    }
}
