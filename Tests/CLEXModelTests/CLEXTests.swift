import CLEXModel
import CLEXTensor
import Foundation
import Testing

/// CLEX (../shared/spec/clex.md): the ODE solve against the spec's test vector, its exact
/// special cases, the gradient of the differentiable solve, the training draw, inference limits,
/// the weight cache and the checkpoint names.
///
/// Tolerances. The test vector was produced in float64 by a port of the reference; our Float64
/// path differs from it by rounding order and by inv_freq stored in Float (6e-8 relative), so
/// 1e-6 relative is loose. The Float32 path (the default, as the reference) evaluates the ODE
/// function in Float32 (≈ 1e-7 relative per evaluation, integrated over |Δz| ≤ 4) and carries z
/// in Double (see `CLEXODE`); the spec's bound for it is 1e-5. The differentiable training solve
/// accumulates z in Float32 (≈ 1e-5 after 1500 steps at |z| ≈ 13, 2e-6 for the short solves
/// compared here).
@Suite("CLEX") struct CLEXTests {
    /// clex.md §2 test vector: d = 128, λ = 1, b = 10000, h = 0.01, tanh,
    /// U[i,k] = 0.05·sin(0.37·i + 0.11·k), D[k,i] = 0.002·cos(0.23·k − 0.19·i).
    static let d = 128
    static let golden: [(t: Double, theta: [Int: Double])] = [
        (2, [0: 9.8299311e-01, 1: 8.3769076e-01, 16: 7.7000088e-02, 32: 5.6214910e-03, 63: 3.7827701e-05]),
        (4, [0: 9.4972009e-01, 1: 8.0077905e-01, 16: 6.4332096e-02, 32: 3.5259361e-03, 63: 1.5653735e-05]),
        (16, [0: 7.7193710e-01, 1: 6.4651442e-01, 16: 5.4565379e-02, 32: 1.3327310e-03, 63: 2.8633579e-06]),
    ]

    static func vectorWeights(d: Int, lambda: Int = 1) -> (up: [Double], down: [Double]) {
        let (half, width) = (d / 2, lambda * d)
        var up = [Double](repeating: 0, count: half * width), down = up
        for i in 0..<half {
            for k in 0..<width {
                up[i * width + k] = 0.05 * sin(0.37 * Double(i) + 0.11 * Double(k))
                down[k * half + i] = 0.002 * cos(0.23 * Double(k) - 0.19 * Double(i))
            }
        }
        return (up, down)
    }

    static func clexConfiguration(d: Int = 128, base: Double = 10000, L: Int = 4096, T: Int = 16, lambda: Int = 1,
                                  act: CLEXActivation = .tanh, h: Double = 0.01, logScale: Bool = false,
                                  continuous: Bool = false, hold: Bool = false) -> PositionalConfiguration {
        PositionalConfiguration(scheme: .clex(CLEXParameters(maxFactor: T, paramFactor: lambda, activation: act, timeStep: h,
                                                             logScale: logScale, continuous: continuous, holdAtMax: hold)),
                                base: base, rotaryDimension: d, contextLength: L, headCount: 4)
    }

    /// A CLEX method carrying the test-vector weights.
    static func vectorMethod(d: Int = 128, T: Int = 16, h: Double = 0.01) throws -> CLEXPositional {
        let m = try #require(try clexConfiguration(d: d, T: T, h: h).makeMethod() as? CLEXPositional)
        let (up, down) = vectorWeights(d: d)
        try m.setLearnedParameter(CLEXCheckpointNames.up, to: Tensor(shape: [d / 2, d], values: up.map { Float($0) }))
        try m.setLearnedParameter(CLEXCheckpointNames.down, to: Tensor(shape: [d, d / 2], values: down.map { Float($0) }))
        return m
    }

    static func relativeError(_ a: Double, _ b: Double) -> Double { abs(a - b) / abs(b) }

    @Test("the spec's test vector: Float64 solve to 1e-6, Float32 (default) to 1e-5")
    func goldenVector() throws {
        let (up, down) = Self.vectorWeights(d: Self.d)
        let ode = CLEXODE(dimension: Self.d, activation: .tanh, up: up, down: down)
        let z0 = RopeFrequencies.standard(base: 10000, dimension: Self.d).map { Foundation.log($0) }
        let exact = ode.trajectory(from: z0, to: 16, step: 0.01, precision: .float64)
        let single = ode.trajectory(from: z0.map { Double(Float($0)) }, to: 16, step: 0.01, precision: .float32)
        let method = try Self.vectorMethod()
        var worst32 = 0.0
        for (t, row) in Self.golden {
            let theta64 = exact.frequencies(at: t), theta32 = single.frequencies(at: t)
            let fromMethod = method.frequencies(at: t)
            for (j, expected) in row {
                #expect(Self.relativeError(theta64[j], expected) < 1e-6, "t=\(t) j=\(j): \(theta64[j]) vs \(expected)")
                #expect(Self.relativeError(theta32[j], expected) < 1e-5, "t=\(t) j=\(j): \(theta32[j]) vs \(expected)")
                #expect(Self.relativeError(fromMethod[j], expected) < 1e-5, "method t=\(t) j=\(j)")
                worst32 = max(worst32, Self.relativeError(theta32[j], expected))
            }
        }
        // Measured: 4.3e-7 (z carried in Double; rounding z to Float each step gave 1.4e-5).
        #expect(worst32 < 2e-6)
    }

    @Test("D = 0: θ(t) is NTK with α = 2t − 1, i.e. HF dynamic NTK with factor 2 at t·L tokens")
    func zeroDownIsNTK() throws {
        let d = 64
        let config = Self.clexConfiguration(d: d, L: 2048, T: 16)
        let m = try #require(try config.makeMethod(seed: 3) as? CLEXPositional)
        m.precision = .float64
        #expect(m.down.scalars.allSatisfy { $0 == 0 })
        for (t, equivalentBase) in [(2.0, 31082.2367), (4.0, 74534.8303), (16.0, 346314.0694)] {
            let ntkBase = RopeFrequencies.ntkBase(base: 10000, dimension: d, factor: 2 * t - 1)
            // The spec prints the bases to 9–10 significant digits.
            #expect(Self.relativeError(ntkBase, equivalentBase) < 1e-8)
            let dynamic = RopeFrequencies.dynamicNTKBase(base: 10000, dimension: d, factor: 2, contextLength: 2048,
                                                         sequenceLength: Int(t) * 2048)
            #expect(Self.relativeError(dynamic, equivalentBase) < 1e-8)
            let expected = RopeFrequencies.standard(base: equivalentBase, dimension: d)
            let theta = m.frequencies(at: t)
            // inv_freq is stored in Float (6e-8 relative); expected from the 9-digit bases.
            for j in 0..<(d / 2) {
                #expect(Self.relativeError(theta[j], expected[j]) < 1e-6, "t=\(t) j=\(j): \(theta[j]) vs \(expected[j])")
            }
            let viaInference = try #require(try m.inference(contextLength: Int(t) * 2048))
            #expect(viaInference.exactFrequencies == theta)
        }
        // The Float32 default agrees to the same bound as the golden table.
        m.precision = .float32
        let theta32 = m.frequencies(at: 16)
        let expected = RopeFrequencies.standard(base: 346314.0694, dimension: d)
        for j in 0..<(d / 2) { #expect(Self.relativeError(theta32[j], expected[j]) < 1e-5) }
    }

    @Test("t = 1 is plain RoPE with the stored inv_freq, exactly")
    func tOneIsPlainRoPE() throws {
        let m = try Self.vectorMethod(d: 64)
        let plain = RopeFrequencies.standard(base: 10000, dimension: 64).map { Float($0) }
        for n in [1, 17, 4096] {
            let r = try #require(try m.inference(contextLength: n))
            #expect(r.frequencies == plain && r.attentionFactor == 1 && r.queryScale == 1)
        }
        // A checkpoint's inv_freq (e.g. rounded to bf16) is used as stored.
        let stored = plain.map { Float(bitPattern: $0.bitPattern & 0xFFFF_0000) }
        try m.setLearnedParameter(CLEXCheckpointNames.inverseFrequency, to: Tensor(shape: [32], values: stored))
        #expect(try m.inference(contextLength: 100)?.frequencies == stored)
        #expect(try m.inference(contextLength: 4097)?.frequencies != stored)
    }

    @Test("inference: t = min(⌈N/L⌉, T); refusal past T·L, or t held at T when asked; continuous t; log_scale")
    func inferenceLengths() throws {
        let L = 512
        let m = try #require(try Self.clexConfiguration(d: 16, L: L, T: 4, logScale: true).makeMethod() as? CLEXPositional)
        #expect(try m.lengthFactor(contextLength: 1) == 1)
        #expect(try m.lengthFactor(contextLength: L) == 1)
        #expect(try m.lengthFactor(contextLength: L + 1) == 2)
        #expect(try m.lengthFactor(contextLength: 4 * L) == 4)
        #expect(throws: PositionalError.self) { try m.lengthFactor(contextLength: 4 * L + 1) }
        do {
            _ = try m.inference(contextLength: 4 * L + 1)
            Issue.record("served a context past T·L")
        } catch let e as PositionalError {
            #expect(e.message.contains("2049 tokens") && e.message.contains("--clex-hold-at-max"), "\(e)")
        }
        let r = try #require(try m.inference(contextLength: 1000))
        #expect(abs(Double(r.queryScale) - log(1000.0) / log(512.0)) < 1e-6)

        let held = try #require(try Self.clexConfiguration(d: 16, L: L, T: 4, hold: true).makeMethod() as? CLEXPositional)
        #expect(try held.lengthFactor(contextLength: 100 * L) == 4)
        #expect(try held.inference(contextLength: 100 * L) == held.inference(contextLength: 4 * L))

        let continuous = try #require(try Self.clexConfiguration(d: 16, L: L, T: 4, continuous: true).makeMethod() as? CLEXPositional)
        #expect(try continuous.lengthFactor(contextLength: 100) == 1)
        #expect(try continuous.lengthFactor(contextLength: 768) == 1.5)
        // Between integer t the solve is interpolated linearly in z between grid nodes.
        let between = continuous.frequencies(at: 1.5)
        let (a, b) = (continuous.frequencies(at: 1.49), continuous.frequencies(at: 1.51))
        #expect(between[5] < a[5] && between[5] > b[5])
    }

    @Test("rotation segments: CLEX changes at multiples of L (every length past L when continuous)")
    func segments() throws {
        let m = try Self.clexConfiguration(d: 16, L: 100, T: 4).makeMethod()
        #expect(m.rotationSegments(cached: 0, total: 250) == [100, 200, 250])
        #expect(m.rotationSegments(cached: 100, total: 101) == [101])
        #expect(m.rotationSegments(cached: 150, total: 400) == [200, 300, 400])
        #expect(m.changesRotation(from: 100, to: 101) && !m.changesRotation(from: 101, to: 200))
        #expect(m.nextRotationChange(after: 400) == nil)
        let c = try Self.clexConfiguration(d: 16, L: 100, T: 4, continuous: true).makeMethod()
        #expect(c.rotationSegments(cached: 0, total: 103) == [100, 101, 102, 103])
    }

    @Test("the θ cache follows U and D, also when they are changed in place")
    func cacheInvalidation() throws {
        let m = try Self.vectorMethod(d: 16, T: 3, h: 0.05)
        let before = m.frequencies(at: 2)
        #expect(m.frequencies(at: 2) == before)
        m.down.pointer[3] += 0.5
        let afterInPlace = m.frequencies(at: 2)
        #expect(afterInPlace != before)
        try m.setLearnedParameter(CLEXCheckpointNames.down, to: Tensor(zeros: [16, 8]))
        let ntk = RopeFrequencies.standard(base: RopeFrequencies.ntkBase(base: 10000, dimension: 16, factor: 3), dimension: 16)
        let zeroD = m.frequencies(at: 2)
        for j in 0..<8 { #expect(Self.relativeError(zeroD[j], ntk[j]) < 1e-5) }
    }

    @Test("checkpoint tensors: names, shapes, refusal of wrong shapes and unknown names; Kaiming-uniform init")
    func checkpointTensors() throws {
        let m = try #require(try Self.clexConfiguration(d: 32, lambda: 2).makeMethod(seed: 9) as? CLEXPositional)
        #expect(Set(m.learnedParameters.keys) == Set(CLEXCheckpointNames.all))
        #expect(CLEXCheckpointNames.up == "model.clex_layer.proj_func.ode_up_proj")
        #expect(CLEXCheckpointNames.down == "model.clex_layer.proj_func.ode_down_proj")
        #expect(CLEXCheckpointNames.inverseFrequency == "model.clex_layer.inv_freq")
        #expect(m.up.shape == [16, 64] && m.down.shape == [64, 16] && m.inverseFrequency.shape == [16])
        let bound = Float(1 / 8.0)  // 1/√(λd) = 1/√64
        #expect(m.up.scalars.allSatisfy { abs($0) <= bound })
        #expect(m.up.scalars.map { abs($0) }.max()! > 0.9 * bound)
        let again = try #require(try Self.clexConfiguration(d: 32, lambda: 2).makeMethod(seed: 9) as? CLEXPositional)
        #expect(again.up.scalars == m.up.scalars)
        #expect(throws: ConfigurationError.self) { try m.setLearnedParameter(CLEXCheckpointNames.up, to: Tensor(zeros: [16, 32])) }
        do {
            try m.setLearnedParameter("model.clex_layer.other", to: Tensor(zeros: [1]))
            Issue.record("accepted an unknown name")
        } catch let e as ConfigurationError {
            #expect(e.key == "model.clex_layer.other")
        }
    }

    /// The differentiable solve's gradients against central differences of the Float64 solve.
    /// The difference quotient is essentially exact (ε = 1e-6 on an O(1) loss in Double:
    /// truncation ≈ 1e-12, rounding ≈ 1e-10); the tape gradient carries Float32 rounding of ~40
    /// ops per step over 20 steps, ≈ 1e-5 relative. 1e-3 of the largest gradient entry leaves a
    /// wide margin while a wrong term (a missing ξ, a transposed weight, a dropped RK4 stage) is
    /// off by O(10%) or more.
    @Test("gradients through every RK4 step reach U and D (finite differences)", arguments: [(2.0, 0.1), (3.0, 0.05)])
    func gradients(t: Double, h: Double) throws {
        let d = 8, half = 4
        let config = Self.clexConfiguration(d: d, L: 64, T: 4, act: .tanh, h: h)
        let m = try #require(try config.makeMethod() as? CLEXPositional)
        var rng = SeededGenerator(seed: 11)
        let up = (0..<(half * d)).map { _ in Double(Float(0.5 * (rng.nextUnitFloat() - 0.5))) }
        let down = (0..<(d * half)).map { _ in Double(Float(0.5 * (rng.nextUnitFloat() - 0.5))) }
        let weights = (0..<half).map { Double($0) + 0.5 }
        let tape = Tape()
        let u = tape.variable(try Tensor(shape: [half, d], values: up.map { Float($0) }))
        let dn = tape.variable(try Tensor(shape: [d, half], values: down.map { Float($0) }))
        let theta = m.differentiableFrequencies(at: t, step: h, up: u, down: dn)
        let loss = (theta * tape.constant(try Tensor(shape: [half], values: weights.map { Float($0) }))).sum()
        tape.backward(loss)
        let gu = try #require(tape.gradient(u)).scalars, gd = try #require(tape.gradient(dn)).scalars

        let z0 = m.inverseFrequency.scalars.map { Foundation.log(Double($0)) }
        func exactLoss(_ up: [Double], _ down: [Double]) -> Double {
            let ode = CLEXODE(dimension: d, activation: .tanh, up: up, down: down)
            let th = ode.trajectory(from: z0, to: t, step: h, precision: .float64).frequencies(at: t)
            return zip(th, weights).reduce(0) { $0 + $1.0 * $1.1 }
        }
        #expect(abs(Double(loss.value.item) - exactLoss(up, down)) < 1e-5)
        let eps = 1e-6
        var numericU: [Double] = [], numericD: [Double] = []
        for i in up.indices {
            var (p, q) = (up, up)
            p[i] += eps
            q[i] -= eps
            numericU.append((exactLoss(p, down) - exactLoss(q, down)) / (2 * eps))
        }
        for i in down.indices {
            var (p, q) = (down, down)
            p[i] += eps
            q[i] -= eps
            numericD.append((exactLoss(up, p) - exactLoss(up, q)) / (2 * eps))
        }
        for (analytic, numeric, name) in [(gu, numericU, "U"), (gd, numericD, "D")] {
            let scale = numeric.map(abs).max()!
            #expect(scale > 1e-3, "\(name) gradient should not vanish")
            for (a, n) in zip(analytic, numeric) {
                #expect(abs(Double(a) - n) <= 1e-3 * scale, "\(name): \(a) vs \(n)")
            }
        }
    }

    @Test("training draw: sorted, from 0 to (N·t−1)/s, N distinct, reproducible; t = 1 with s > 1 is PI")
    func trainingDraw() throws {
        for (n, t, L) in [(64, 3, 32), (100, 4, 100), (37, 2, 64), (256, 16, 64), (2, 5, 1)] {
            var g1 = SeededGenerator(seed: 5), g2 = SeededGenerator(seed: 5), g3 = SeededGenerator(seed: 6)
            let p = CLEXPositional.trainingPositions(sequenceLength: n, lengthFactor: t, window: L, generator: &g1)
            let s = Float(max(n / L, 1))
            #expect(p.count == n)
            #expect(p.first == 0)
            #expect(p.last == Float(n * t - 1) / s)
            #expect(zip(p, p.dropFirst()).allSatisfy { $0 < $1 }, "sorted and distinct")
            #expect(p.allSatisfy { ($0 * s).rounded() == $0 * s }, "integers / s")
            #expect(p == CLEXPositional.trainingPositions(sequenceLength: n, lengthFactor: t, window: L, generator: &g2))
            if n > 2 && t > 1 {
                #expect(p != CLEXPositional.trainingPositions(sequenceLength: n, lengthFactor: t, window: L, generator: &g3))
            }
        }
        var g = SeededGenerator(seed: 1)
        let pi = CLEXPositional.trainingPositions(sequenceLength: 256, lengthFactor: 1, window: 64, generator: &g)
        #expect(pi == (0..<256).map { Float($0) / 4 })
    }

    @Test("training: t uniform in 1…T, θ(t) as a Variable with gradients, same θ as the inference solve")
    func training() throws {
        let m = try Self.vectorMethod(d: 16, T: 4, h: 0.05)
        var g = SeededGenerator(seed: 2)
        var seen = Set<Int>()
        for _ in 0..<40 {
            let tape = Tape()
            let batch = try m.training(sequenceLength: 8192, tape: tape, generator: &g)
            seen.insert(batch.lengthFactor)
            let rotary = try #require(batch.inputs.rotary)
            #expect(batch.inputs.positions.count == 8192)
            #expect(batch.inputs.positions.last == Float(8192 * batch.lengthFactor - 1) / 2)
            let inferred = m.frequencies(at: Double(batch.lengthFactor)).map { Float($0) }
            for (a, b) in zip(rotary.frequencies.value.scalars, inferred) {
                #expect(abs(a - b) <= 2e-5 * abs(b), "t=\(batch.lengthFactor)")
            }
            #expect(rotary.frequencies.requiresGrad == (batch.lengthFactor > 1))
            #expect(batch.parameters.keys.sorted() == [CLEXCheckpointNames.up, CLEXCheckpointNames.down].sorted())
        }
        #expect(seen == [1, 2, 3, 4])
    }
}
