import CLEXTensor
import CLEXTrain
import Foundation
import Testing

@Suite("AdamW and schedules") struct OptimizerTests {
    @Test("one AdamW step equals the hand computation (PyTorch convention)")
    func oneStep() throws {
        var adam = AdamW(beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1)
        let p = try Tensor(shape: [3], values: [1.0, -2.0, 0.5])
        let g = try Tensor(shape: [3], values: [0.1, 0.2, -0.3])
        adam.beginStep()
        adam.update("w", parameter: p, gradient: g, lr: 0.01)
        // Step 1: m̂ = g, v̂ = g², so the Adam term is g/(|g| + ε) = sign(g) (to 1e-7), and the
        // decoupled decay first shrinks p by (1 − lr·wd) = 0.999.
        let expected: [Double] = [1.0 * 0.999 - 0.01, -2.0 * 0.999 - 0.01, 0.5 * 0.999 + 0.01]
        for i in 0..<3 { #expect(abs(Double(p.scalars[i]) - expected[i]) < 1e-6, "element \(i): \(p.scalars[i])") }
        // Step 2 with the same gradient, computed by hand in Double.
        adam.beginStep()
        adam.update("w", parameter: p, gradient: g, lr: 0.01)
        for i in 0..<3 {
            let gi = Double(g.scalars[i])
            let m = 0.9 * (0.1 * gi) + 0.1 * gi
            let v = 0.999 * (0.001 * gi * gi) + 0.001 * gi * gi
            let mhat = m / (1 - 0.81), vhat = v / (1 - 0.998001)
            let want = expected[i] * 0.999 - 0.01 * mhat / (vhat.squareRoot() + 1e-8)
            #expect(abs(Double(p.scalars[i]) - want) < 1e-6, "step 2 element \(i)")
        }
    }

    @Test("no decay for exempt parameters")
    func noDecay() throws {
        var adam = AdamW(weightDecay: 0.5)
        let p = try Tensor(shape: [1], values: [2])
        adam.beginStep()
        adam.update("norm", parameter: p, gradient: Tensor(zeros: [1]), lr: 0.1, decay: false)
        #expect(p.scalars == [2])
        adam.update("w", parameter: p, gradient: Tensor(zeros: [1]), lr: 0.1, decay: true)
        #expect(abs(p.scalars[0] - 2 * 0.95) < 1e-6)
    }

    @Test("gradient clipping scales to the maximum global norm and reports the norm before")
    func clipping() throws {
        let a = try Tensor(shape: [2], values: [3, 0])
        let b = try Tensor(shape: [1], values: [4])
        let norm = clipGradients([a, b], maxNorm: 1)
        #expect(abs(norm - 5) < 1e-9)
        let after = (a.scalars + b.scalars).reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(abs(after - 1) < 1e-5)
        let small = try Tensor(shape: [1], values: [0.5])
        _ = clipGradients([small], maxNorm: 1)
        #expect(small.scalars == [0.5])
        let bad = try Tensor(shape: [1], values: [.nan])
        #expect(clipGradients([bad], maxNorm: 1).isNaN)
    }

    @Test("warm-up then cosine decay to the floor; constant stays")
    func schedule() {
        let s = LearningRateSchedule(peak: 1, warmupSteps: 10, totalSteps: 110, shape: .cosine, minimumFraction: 0.1)
        #expect(s.rate(at: 5) == 0.5)
        #expect(s.rate(at: 10) == 1)
        #expect(abs(s.rate(at: 60) - 0.55) < 1e-6)
        #expect(abs(s.rate(at: 110) - 0.1) < 1e-6)
        #expect(abs(s.rate(at: 500) - 0.1) < 1e-6)
        let c = LearningRateSchedule(peak: 2, warmupSteps: 0, totalSteps: 10, shape: .constant)
        #expect(c.rate(at: 1) == 2 && c.rate(at: 99) == 2)
    }
}
