import CLEXTensor
import Foundation
import Testing

/// Row-wise softmax in Double: (softmax, log-softmax) of each last-dimension row.
private func referenceSoftmax(_ x: Tensor) -> (softmax: [Float], logSoftmax: [Float]) {
    let n = x.shape.last!
    let xs = x.scalars.map(Double.init)
    var p = [Float](), lp = [Float]()
    for start in stride(from: 0, to: xs.count, by: n) {
        let row = xs[start..<(start + n)]
        let m = row.max()!
        let lse = m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) })
        p += row.map { Float(Foundation.exp($0 - lse)) }
        lp += row.map { Float($0 - lse) }
    }
    return (p, lp)
}

/// Softmax and log-softmax over the last dimension. Forwards are compared with a Double reference
/// at rtol 1e-5 (FastMath.exp is within ~2 ulp; the row sum adds a few ulp) plus atol 1e-6 for
/// log-softmax values near 0 and probabilities that underflow; gradients use `GradientCheck`'s
/// default tolerance (see its doc comment) on N(0, 1) logits, where no probability is so small
/// that its gradient drowns in the Float32 rounding of the difference quotient; the backward
/// kernels are also checked against the exact formula in Double on peaked rows.
@Suite("softmax") struct SoftmaxTests {
    static let shapes: [[Int]] = [[1], [17], [3, 17], [1, 333], [65, 3], [2, 3, 17], [4, 1]]

    @Test("forward matches a Double reference and rows sum to one", arguments: shapes)
    func forward(shape: [Int]) {
        let x = randomTensor(shape, seed: 1, std: 3)
        let (p, lp) = referenceSoftmax(x)
        let y = Ops.softmax(x)
        expectClose(y.scalars, p, rtol: 1e-5, atol: 1e-7, "softmax \(shape)")
        expectClose(Ops.logSoftmax(x).scalars, lp, rtol: 1e-5, atol: 1e-5, "logSoftmax \(shape)")
        let n = shape.last!
        let ys = y.scalars
        for start in stride(from: 0, to: ys.count, by: n) {
            let s = ys[start..<(start + n)].reduce(0, +)
            #expect(abs(s - 1) < 1e-5, "row at \(start) sums to \(s)")
        }
    }

    @Test("−inf entries get probability 0 and huge logits do not overflow")
    func masksAndMagnitudes() throws {
        let x = try Tensor(shape: [2, 4], values: [0, -.infinity, 0, -.infinity, 1e4, -1e4, 1e4 - 1, 0])
        let y = Ops.softmax(x).scalars
        #expect(y[0] == 0.5 && y[1] == 0 && y[2] == 0.5 && y[3] == 0)
        let e = Float(Foundation.exp(-1.0))
        expectClose(y, [0.5, 0, 0.5, 0, 1 / (1 + e), 0, e / (1 + e), 0], rtol: 1e-6, atol: 0, "softmax")
        let ly = Ops.logSoftmax(x).scalars
        #expect(ly[1] == -.infinity && ly[3] == -.infinity)
        expectClose([ly[0], ly[4], ly[5], ly[6]],
                    [-Float(Foundation.log(2.0)), -Float(Foundation.log1p(Foundation.exp(-1.0))),
                     Float(-2e4 - Foundation.log1p(Foundation.exp(-1.0))),
                     -1 - Float(Foundation.log1p(Foundation.exp(-1.0)))], rtol: 1e-6, atol: 0, "logSoftmax")
    }

    @Test("gradients match finite differences", arguments: shapes)
    func gradients(shape: [Int]) {
        let x = randomTensor(shape, seed: 2)
        let bad = GradientCheck().mismatches([x]) { _, v in v[0].softmax() }
        #expect(bad.isEmpty, "softmax \(shape): \(bad.prefix(3))")
        let badLog = GradientCheck().mismatches([x]) { _, v in v[0].logSoftmax() }
        #expect(badLog.isEmpty, "logSoftmax \(shape): \(badLog.prefix(3))")
    }

    @Test("backward kernels equal the analytic formula on a wide row")
    func backwardFormula() {
        let x = randomTensor([3, 1000], seed: 3, std: 2)
        let g = randomTensor([3, 1000], seed: 4)
        let y = Ops.softmax(x)
        let (ys, gs) = (y.scalars.map(Double.init), g.scalars.map(Double.init))
        var expected = [Float](), expectedLog = [Float]()
        for start in stride(from: 0, to: ys.count, by: 1000) {
            let range = start..<(start + 1000)
            let dot = range.reduce(0.0) { $0 + ys[$1] * gs[$1] }
            let total = range.reduce(0.0) { $0 + gs[$1] }
            expected += range.map { Float(ys[$0] * (gs[$0] - dot)) }
            expectedLog += range.map { Float(gs[$0] - ys[$0] * total) }
        }
        expectClose(Ops.softmaxBackward(output: y, gradient: g).scalars, expected, rtol: 1e-4, atol: 1e-6, "softmax")
        expectClose(Ops.logSoftmaxBackward(output: Ops.logSoftmax(x), gradient: g).scalars, expectedLog,
                    rtol: 1e-4, atol: 1e-5, "logSoftmax")
    }
}
