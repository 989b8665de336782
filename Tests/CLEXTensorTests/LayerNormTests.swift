import CLEXTensor
import Foundation
import Testing

/// LayerNorm in Double: (y, input gradient, weight gradient, bias gradient).
private func referenceLayerNorm(_ x: Tensor, _ w: Tensor, _ b: Tensor, _ g: Tensor, eps: Double)
    -> (y: [Float], dx: [Float], dw: [Float], db: [Float]) {
    let e = w.count
    let (xs, ws, bs, gs) = (x.scalars.map(Double.init), w.scalars.map(Double.init), b.scalars.map(Double.init),
                            g.scalars.map(Double.init))
    var y = [Float](), dx = [Float]()
    var dw = [Double](repeating: 0, count: e), db = [Double](repeating: 0, count: e)
    for start in stride(from: 0, to: xs.count, by: e) {
        let row = Array(xs[start..<(start + e)]), gr = Array(gs[start..<(start + e)])
        let mean = row.reduce(0, +) / Double(e)
        let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(e)
        let r = 1 / (variance + eps).squareRoot()
        let n = row.map { ($0 - mean) * r }
        y += (0..<e).map { Float(n[$0] * ws[$0] + bs[$0]) }
        for j in 0..<e { dw[j] += gr[j] * n[j]; db[j] += gr[j] }
        let gh = (0..<e).map { gr[$0] * ws[$0] }
        let meanG = gh.reduce(0, +) / Double(e)
        let meanGN = (0..<e).reduce(0.0) { $0 + gh[$1] * n[$1] } / Double(e)
        dx += (0..<e).map { Float(r * (gh[$0] - meanG - n[$0] * meanGN)) }
    }
    return (y, dx, dw.map { Float($0) }, db.map { Float($0) })
}

/// LayerNorm (PyTorch nn.LayerNorm semantics: biased variance, ε inside the root, affine weight
/// and bias) against a Double reference, and its tape gradients against finite differences.
@Suite("layerNorm") struct LayerNormTests {
    static let shapes: [[Int]] = [[3, 17], [1, 333], [65, 3], [2, 3, 17], [9, 80]]

    @Test("forward and backward kernels match Double", arguments: shapes)
    func reference(shape: [Int]) {
        let e = shape.last!
        // A large mean relative to the spread: the centring must happen before squaring.
        let x = Ops.add(randomTensor(shape, seed: 1, std: 3), Tensor(shape: [e], repeating: 40))
        let (w, b, g) = (randomTensor([e], seed: 2), randomTensor([e], seed: 3), randomTensor(shape, seed: 4))
        let ref = referenceLayerNorm(x, w, b, g, eps: 1e-5)
        let (y, n, r) = Ops.layerNormWithStats(x, weight: w, bias: b, epsilon: 1e-5)
        #expect(y.shape == shape && n.shape == shape && r.shape == Array(shape.dropLast()))
        expectClose(y.scalars, ref.y, rtol: 1e-5, atol: 1e-5, "y \(shape)")
        let (dx, dw, db) = Ops.layerNormBackward(normalized: n, inverseStd: r, weight: w, gradient: g)
        expectClose(dx!.scalars, ref.dx, rtol: 1e-4, atol: 1e-5, "dx \(shape)")
        expectClose(dw!.scalars, ref.dw, rtol: 1e-4, atol: 1e-4, "dw \(shape)")
        expectClose(db!.scalars, ref.db, rtol: 1e-5, atol: 1e-5, "db \(shape)")
    }

    @Test("a constant row normalises to the bias (ε keeps it finite)")
    func constantRow() throws {
        let x = try Tensor(shape: [1, 4], values: [2, 2, 2, 2])
        let y = Ops.layerNorm(x, weight: Tensor(shape: [4], repeating: 3), bias: try Tensor(shape: [4], values: [1, 2, 3, 4]),
                              epsilon: 1e-5)
        #expect(y.scalars == [1, 2, 3, 4])
    }

    @Test("gradients to input, weight and bias match finite differences", arguments: shapes.prefix(4))
    func gradients(shape: [Int]) {
        let e = shape.last!
        let (x, w, b) = (randomTensor(shape, seed: 5), randomTensor([e], seed: 6), randomTensor([e], seed: 7))
        for wanted in [[true, true, true], [true, false, false], [false, true, true]] {
            let bad = GradientCheck().mismatches([x, w, b], differentiable: wanted) { _, v in
                v[0].layerNorm(weight: v[1], bias: v[2], epsilon: 1e-5)
            }
            #expect(bad.isEmpty, "\(shape) \(wanted): \(bad.prefix(5))")
        }
    }
}
