import CLEXTensor
import Foundation
import Testing

/// RMSNorm in Double: (y, inverse RMS per row, weight gradient Σ_rows g·x·r, input gradient).
private func referenceRMSNorm(_ x: Tensor, _ w: Tensor, _ g: Tensor, eps: Double)
    -> (y: [Float], inv: [Float], dw: [Float], dx: [Float]) {
    let e = w.count
    let (xs, ws, gs) = (x.scalars.map(Double.init), w.scalars.map(Double.init), g.scalars.map(Double.init))
    var y = [Float](), inv = [Float](), dx = [Float]()
    var dw = [Double](repeating: 0, count: e)
    for start in stride(from: 0, to: xs.count, by: e) {
        let row = Array(xs[start..<(start + e)]), gr = Array(gs[start..<(start + e)])
        let r = 1 / (row.reduce(0) { $0 + $1 * $1 } / Double(e) + eps).squareRoot()
        inv.append(Float(r))
        y += (0..<e).map { Float(row[$0] * r * ws[$0]) }
        for j in 0..<e { dw[j] += gr[j] * row[j] * r }
        let dot = (0..<e).reduce(0.0) { $0 + gr[$1] * ws[$1] * row[$1] }
        dx += (0..<e).map { Float(r * gr[$0] * ws[$0] - row[$0] * r * r * r * dot / Double(e)) }
    }
    return (y, inv, dw.map { Float($0) }, dx)
}

/// RMSNorm (HF LlamaRMSNorm semantics) against a Double reference. The kernel sums x² in Float over
/// at most a few hundred terms (relative error ~1e-6), so forwards are compared at rtol 1e-5 and
/// backward kernels at rtol 1e-4 (the input gradient subtracts two terms of similar size), with
/// small absolute floors for elements near zero. Gradients through the tape use `GradientCheck`'s
/// default tolerance (see its doc comment).
@Suite("rmsNorm") struct RMSNormTests {
    static let shapes: [[Int]] = [[1], [3, 17], [1, 333], [65, 3], [2, 3, 17], [65, 576]]

    @Test("forward, saved inverse RMS and backward kernels match Double", arguments: shapes)
    func reference(shape: [Int]) {
        let e = shape.last!
        let x = randomTensor(shape, seed: 1, std: 3)
        let w = randomTensor([e], seed: 2)
        let g = randomTensor(shape, seed: 3)
        let ref = referenceRMSNorm(x, w, g, eps: 1e-5)
        let (y, inv) = Ops.rmsNormWithStats(x, weight: w, epsilon: 1e-5)
        #expect(y.shape == shape && inv.shape == Array(shape.dropLast()))
        expectClose(y.scalars, ref.y, rtol: 1e-5, atol: 1e-6, "y \(shape)")
        expectClose(Ops.rmsNorm(x, weight: w, epsilon: 1e-5).scalars, ref.y, rtol: 1e-5, atol: 1e-6, "rmsNorm \(shape)")
        expectClose(inv.scalars, ref.inv, rtol: 1e-5, atol: 0, "inverseRMS \(shape)")
        let (dx, dw) = Ops.rmsNormBackward(x, weight: w, inverseRMS: inv, gradient: g)
        expectClose(dx!.scalars, ref.dx, rtol: 1e-4, atol: 1e-5, "dx \(shape)")
        expectClose(dw!.scalars, ref.dw, rtol: 1e-4, atol: 1e-4, "dw \(shape)")
        let onlyW = Ops.rmsNormBackward(x, weight: w, inverseRMS: inv, gradient: g, needX: false)
        #expect(onlyW.x == nil && onlyW.weight!.scalars == dw!.scalars)
    }

    @Test("epsilon sits inside the square root: a zero row stays finite")
    func epsilon() throws {
        let x = try Tensor(shape: [2, 4], values: [0, 0, 0, 0, 1, 1, 1, 1])
        let w = try Tensor(shape: [4], values: [1, 2, 3, 4])
        let (y, inv) = Ops.rmsNormWithStats(x, weight: w, epsilon: 0.25)
        expectClose(inv.scalars, [2, Float(1 / 1.25.squareRoot())], rtol: 1e-6, atol: 0, "inverseRMS")
        #expect(Array(y.scalars.prefix(4)) == [0, 0, 0, 0])
        expectClose(Array(y.scalars.suffix(4)), [1, 2, 3, 4].map { Float($0 / 1.25.squareRoot()) }, rtol: 1e-6, atol: 0, "row 2")
    }

    /// E = 1 is left out here: y = sign(x)·w there, and its input gradient ε/|x|³ is far below
    /// what a Float32 difference quotient resolves (the reference test above covers E = 1).
    @Test("gradients to input and weight match finite differences", arguments: shapes.dropFirst().dropLast())
    func gradients(shape: [Int]) {
        let x = randomTensor(shape, seed: 4)
        let w = randomTensor([shape.last!], seed: 5)
        for wanted in [[true, true], [true, false], [false, true]] {
            let bad = GradientCheck().mismatches([x, w], differentiable: wanted) { _, v in
                v[0].rmsNorm(weight: v[1], epsilon: 1e-5)
            }
            #expect(bad.isEmpty, "\(shape) \(wanted): \(bad.prefix(3))")
        }
    }
}
