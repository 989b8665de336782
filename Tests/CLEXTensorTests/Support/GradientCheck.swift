import CLEXTensor
import Testing

/// Checks a differentiable function's analytic gradients against central finite differences.
///
/// The scalar probed is L = Σ f(x) ⊙ R with a fixed random R (so every output element matters),
/// summed in Double. The engine is Float32, so the difference quotient carries two errors:
/// truncation ≈ ε²/6·|L'''| (≈ 2e-5 relative for ε = 1e-2 and O(1) curvature) and rounding
/// ≈ 6e-8·√n·|f|·|R| / (2ε) (≈ 3e-4 absolute for n = 10⁴ outputs). A tolerance of 1e-2 relative
/// to max(|analytic|, |numeric|, 1e-2·rms of the input's gradient) stays above both, while a
/// wrong gradient (a sign, a missing term, a transposed index) is off by O(1).
struct GradientCheck {
    var epsilon: Float = 1e-2
    var tolerance: Double = 1e-2
    /// Elements probed per input (all of them when the input is smaller).
    var samplesPerInput = 48
    var seed: UInt64 = 7

    /// Returns one line per mismatching element (empty when all agree).
    func mismatches(_ inputs: [Tensor], differentiable: [Bool]? = nil,
                    _ f: (Tape, [Variable]) -> Variable) -> [String] {
        let wanted = differentiable ?? Array(repeating: true, count: inputs.count)
        let tape = Tape()
        let vars = zip(inputs, wanted).map { $1 ? tape.variable($0) : tape.constant($0) }
        let out = f(tape, vars)
        var rng = SeededGenerator(seed: seed)
        let r = Tensor.randomNormal(out.shape, generator: &rng)
        tape.backward(out, seed: r)

        func probe() -> Double {
            let t = Tape()
            let y = f(t, inputs.map { t.constant($0) }).value
            let (yp, rp) = (y.pointer, r.pointer)
            var s = 0.0
            for i in 0..<y.count { s += Double(yp[i]) * Double(rp[i]) }
            return s
        }

        var failures: [String] = []
        for (n, x) in inputs.enumerated() where wanted[n] {
            let analytic = tape.gradient(vars[n]) ?? Tensor(zeros: x.shape)
            let g = analytic.scalars
            let rms = (g.reduce(0) { $0 + Double($1) * Double($1) } / Double(max(g.count, 1))).squareRoot()
            let indices = x.count <= samplesPerInput
                ? Array(0..<x.count)
                : (0..<samplesPerInput).map { _ in Int(rng.next() % UInt64(x.count)) }
            for i in indices {
                let saved = x.pointer[i]
                x.pointer[i] = saved + epsilon
                let up = probe()
                x.pointer[i] = saved - epsilon
                let down = probe()
                x.pointer[i] = saved
                let numeric = (up - down) / (2 * Double(epsilon))
                let a = Double(g[i])
                let scale = max(abs(a), abs(numeric), 1e-2 * rms, 1e-6)
                if abs(a - numeric) > tolerance * scale {
                    failures.append("input \(n) \(x.shape) element \(i): analytic \(a), numeric \(numeric)")
                }
            }
        }
        return failures
    }
}

/// Expects `actual` to equal `expected` element-wise within `rtol`·|expected| + `atol`.
func expectClose(_ actual: [Float], _ expected: [Float], rtol: Float = 1e-5, atol: Float = 1e-6,
                 _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(what): \(actual.count) vs \(expected.count) elements",
            sourceLocation: sourceLocation)
    var worst = 0, worstErr: Float = 0
    var bad = 0
    for i in 0..<min(actual.count, expected.count) {
        let err = abs(actual[i] - expected[i])
        if !(err <= rtol * abs(expected[i]) + atol) {
            bad += 1
            if !(err <= worstErr) { worstErr = err; worst = i }
        }
    }
    #expect(bad == 0, "\(what): \(bad) elements differ; worst at \(worst): \(bad > 0 ? actual[worst] : 0) vs \(bad > 0 ? expected[worst] : 0)",
            sourceLocation: sourceLocation)
}

/// A tensor of N(0, 1) entries from a fixed seed.
func randomTensor(_ shape: [Int], seed: UInt64, std: Float = 1) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    return Tensor.randomNormal(shape, std: std, generator: &rng)
}
