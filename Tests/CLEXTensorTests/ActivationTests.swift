import CLEXTensor
import Foundation
import Testing

/// Activations and the fused SwiGLU against Double references. The kernels use `FastMath` (exp
/// within ~2 ulp, tanh within 2e-7 absolute), so forwards are compared at rtol 1e-5 plus atol 1e-6
/// (which covers tanh's absolute error and values rounding near zero); log goes through libm and
/// is compared at the same tolerance. Gradients use `GradientCheck`'s default tolerance (see its
/// doc comment); inputs are N(0, 2²) so that both tails of the sigmoid are exercised.
@Suite("activations") struct ActivationTests {
    static let shapes: [[Int]] = [[1], [3], [17], [3, 17], [1, 333], [65, 3], [2, 3, 17]]

    private static func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }

    @Test("forwards match Double references", arguments: shapes)
    func forwards(shape: [Int]) {
        let x = randomTensor(shape, seed: 1, std: 2)
        let xs = x.scalars.map(Double.init)
        func ref(_ f: (Double) -> Double) -> [Float] { xs.map { Float(f($0)) } }
        expectClose(Ops.silu(x).scalars, ref { $0 * Self.sigmoid($0) }, "silu \(shape)")
        expectClose(Ops.tanh(x).scalars, ref(Foundation.tanh), "tanh \(shape)")
        expectClose(Ops.exp(x).scalars, ref(Foundation.exp), "exp \(shape)")
        expectClose(Ops.sigmoid(x).scalars, ref(Self.sigmoid), "sigmoid \(shape)")
        let positive = Ops.exp(x)
        expectClose(Ops.log(positive).scalars, positive.scalars.map { Float(Foundation.log(Double($0))) },
                    "log \(shape)")
        let up = randomTensor(shape, seed: 2)
        let us = up.scalars.map(Double.init)
        expectClose(Ops.swiglu(x, up).scalars, xs.indices.map { Float(xs[$0] * Self.sigmoid(xs[$0]) * us[$0]) },
                    "swiglu \(shape)")
        #expect(Ops.silu(x).shape == shape && Ops.swiglu(x, up).shape == shape)
    }

    @Test("extreme inputs saturate instead of overflowing")
    func extremes() throws {
        let x = try Tensor(shape: [6], values: [-1e4, -100, -20, 20, 100, 1e4])
        let exp = Ops.exp(x).scalars
        #expect(exp[0] == 0 && exp[1] == 0 && exp.allSatisfy { $0.isFinite })
        #expect(abs(exp[3] - Float(Foundation.exp(20.0))) <= 1e-5 * exp[3])
        #expect(Ops.sigmoid(x).scalars.map { ($0 * 1e6).rounded() / 1e6 } == [0, 0, 0, 1, 1, 1])
        #expect(Ops.tanh(x).scalars == [-1, -1, -1, 1, 1, 1])
        let silu = Ops.silu(x).scalars
        #expect(silu.allSatisfy { $0.isFinite })
        #expect(abs(silu[1]) < 1e-30 && silu[4] == 100 && silu[5] == 1e4)
        #expect(Ops.log(try Tensor(shape: [2], values: [0, 1])).scalars == [-.infinity, 0])
    }

    @Test("gradients match finite differences", arguments: shapes)
    func gradients(shape: [Int]) {
        let x = randomTensor(shape, seed: 3, std: 2)
        let positive = Ops.exp(randomTensor(shape, seed: 4, std: 0.5))
        let cases: [(String, Tensor, (Variable) -> Variable)] = [
            ("silu", x, { $0.silu() }),
            ("tanh", x, { $0.tanh() }),
            ("exp", x, { $0.exp() }),
            ("sigmoid", x, { $0.sigmoid() }),
            ("log", positive, { $0.log() }),
        ]
        for (name, input, f) in cases {
            let bad = GradientCheck().mismatches([input]) { _, v in f(v[0]) }
            #expect(bad.isEmpty, "\(name) \(shape): \(bad.prefix(3))")
        }
    }

    @Test("swiglu gradients to gate and up, together and separately", arguments: shapes)
    func swigluGradients(shape: [Int]) {
        let gate = randomTensor(shape, seed: 5, std: 2)
        let up = randomTensor(shape, seed: 6)
        for wanted in [[true, true], [true, false], [false, true]] {
            let bad = GradientCheck().mismatches([gate, up], differentiable: wanted) { _, v in v[0].swiglu(v[1]) }
            #expect(bad.isEmpty, "\(shape) \(wanted): \(bad.prefix(3))")
        }
    }

    @Test("swiglu equals silu(gate) times up through the tape")
    func swigluComposes() {
        let gate = randomTensor([5, 37], seed: 7, std: 2)
        let up = randomTensor([5, 37], seed: 8)
        let r = randomTensor([5, 37], seed: 9)
        func grads(_ fused: Bool) -> [Float] {
            let tape = Tape()
            let (a, b) = (tape.variable(gate), tape.variable(up))
            let y = fused ? a.swiglu(b) : a.silu() * b
            tape.backward(y, seed: r)
            return tape.gradient(a)!.scalars + tape.gradient(b)!.scalars
        }
        expectClose(grads(true), grads(false), rtol: 1e-5, atol: 1e-6, "fused vs composed")
    }

    @Test("log undoes exp on the tape, gradient one")
    func logOfExp() {
        let x = randomTensor([3, 17], seed: 10)
        let tape = Tape()
        let v = tape.variable(x)
        let y = v.exp().log()
        tape.backward(y)
        expectClose(y.value.scalars, x.scalars, rtol: 1e-5, atol: 1e-6, "log(exp(x))")
        expectClose(tape.gradient(v)!.scalars, Array(repeating: 1, count: x.count), rtol: 1e-5, atol: 1e-6, "d/dx")
    }
}
