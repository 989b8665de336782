import CLEXTensor
import Foundation
import Testing

/// Per-row NLL in Double (0 at ignored rows) and the mean over scored rows.
private func referenceNLL(_ logits: Tensor, _ targets: [Int32]) -> (perRow: [Float], mean: Double) {
    let v = logits.shape[1]
    let xs = logits.scalars.map(Double.init)
    var perRow = [Float](), total = 0.0, count = 0
    for (row, t) in targets.enumerated() {
        guard t >= 0 else { perRow.append(0); continue }
        let r = xs[(row * v)..<((row + 1) * v)]
        let m = r.max()!
        let nll = m + Foundation.log(r.reduce(0) { $0 + Foundation.exp($1 - m) }) - r[row * v + Int(t)]
        perRow.append(Float(nll))
        total += nll
        count += 1
    }
    return (perRow, count == 0 ? 0 : total / Double(count))
}

/// Targets for `n` rows over a vocabulary of `v`, every third row ignored (−1).
private func targets(_ n: Int, _ v: Int, seed: UInt64) -> [Int32] {
    var rng = SeededGenerator(seed: seed)
    return (0..<n).map { $0 % 3 == 1 ? -1 : Int32(rng.next() % UInt64(v)) }
}

/// Fused cross-entropy against a Double reference. NLL values are O(1–10); the kernel's row
/// log-sum-exp has ~1e-6 relative error (FastMath.exp, 32 Float partial sums), so losses are
/// compared at rtol 1e-5 plus atol 1e-5, and so is the backward kernel against the exact formula
/// in Double (atol 1e-7 for probabilities that underflow). The finite-difference check through
/// the tape is described at its test.
@Suite("crossEntropy") struct CrossEntropyTests {
    static let shapes: [[Int]] = [[1, 1], [3, 17], [1, 333], [65, 3], [4, 2500]]

    @Test("loss and per-row NLL match Double, ignored rows excluded", arguments: shapes)
    func forward(shape: [Int]) {
        let (n, v) = (shape[0], shape[1])
        let x = randomTensor(shape, seed: 1, std: 3)
        let t = targets(n, v, seed: 2)
        let ref = referenceNLL(x, t)
        let out = Ops.crossEntropy(x, targets: t)
        #expect(out.loss.shape == [] && out.perRow.shape == [n])
        #expect(out.count == t.filter { $0 >= 0 }.count)
        expectClose(out.perRow.scalars, ref.perRow, rtol: 1e-5, atol: 1e-5, "perRow \(shape)")
        expectClose([out.loss.item], [Float(ref.mean)], rtol: 1e-5, atol: 1e-5, "loss \(shape)")
        for (row, target) in t.enumerated() where target < 0 { #expect(out.perRow.scalars[row] == 0) }
    }

    @Test("a uniform row costs log V", arguments: [1, 17, 333, 49152])
    func uniform(v: Int) {
        let x = Tensor(shape: [2, v], repeating: 0.25)
        let out = Ops.crossEntropy(x, targets: [0, Int32(v - 1)])
        expectClose(out.perRow.scalars, [Float(Foundation.log(Double(v))), Float(Foundation.log(Double(v)))],
                    rtol: 1e-6, atol: 1e-6, "V = \(v)")
    }

    @Test("logits of magnitude 1e4 give exact, finite losses and gradients")
    func largeLogits() throws {
        let x = try Tensor(shape: [3, 4], values: [1e4, -1e4, 0, 1e4 - 1,
                                                   1e4, -1e4, 0, 1e4 - 1,
                                                   -1e4, -1e4, -1e4, -1e4])
        let out = Ops.crossEntropy(x, targets: [0, 1, 2])
        let soft = Foundation.log1p(Foundation.exp(-1.0))
        expectClose(out.perRow.scalars, [Float(soft), Float(2e4 + soft), Float(Foundation.log(4.0))],
                    rtol: 1e-6, atol: 1e-6, "perRow")
        let g = Ops.crossEntropyBackward(x, targets: [0, 1, 2], forward: out, gradient: 3).scalars
        #expect(g.allSatisfy { $0.isFinite })
        let p0 = Float(1 / (1 + Foundation.exp(-1.0)))
        expectClose(g, [p0 - 1, 0, 0, 1 - p0, p0, -1, 0, 1 - p0, 0.25, 0.25, -0.75, 0.25],
                    rtol: 1e-5, atol: 1e-6, "gradient (g = 3, count = 3)")
    }

    /// The loss is one Float near log V, so the difference quotient resolves gradient entries only
    /// down to ~ulp(loss)/(2ε); with ε = 0.1 and N(0, 0.5²) logits every entry (≥ p_min/count) is
    /// well above that, and the truncation error ε²/6·|L‴| stays below 1e-3 relative.
    @Test("masked (−inf) logits, also filling whole leading blocks of a row, cost nothing")
    func maskedLogits() {
        let x = randomTensor([2, 3000], seed: 7)
        for j in 0..<2100 { x.pointer[j] = -.infinity }
        for j in stride(from: 3000, to: 6000, by: 2) { x.pointer[j] = -.infinity }
        let t: [Int32] = [2500, 2999]
        let out = Ops.crossEntropy(x, targets: t)
        let ref = referenceNLL(x, t)
        expectClose(out.perRow.scalars, ref.perRow, rtol: 1e-5, atol: 1e-5, "perRow")
        let g = Ops.crossEntropyBackward(x, targets: t, forward: out, gradient: 1).scalars
        #expect(g.allSatisfy { $0.isFinite })
        #expect(g[0..<2100].allSatisfy { $0 == 0 } && g[3000] == 0)
    }

    @Test("gradient through the tape matches finite differences", arguments: shapes.dropLast())
    func gradients(shape: [Int]) {
        let x = randomTensor(shape, seed: 3, std: 0.5)
        let t = targets(shape[0], shape[1], seed: 4)
        let bad = GradientCheck(epsilon: 0.1).mismatches([x]) { _, vars in vars[0].crossEntropy(targets: t) }
        #expect(bad.isEmpty, "\(shape): \(bad.prefix(3))")
    }

    @Test("backward equals (softmax − onehot)·g/count in Double, zero at ignored rows", arguments: shapes)
    func backwardFormula(shape: [Int]) {
        let (n, v) = (shape[0], shape[1])
        let x = randomTensor(shape, seed: 5, std: 3)
        let t = targets(n, v, seed: 6)
        let out = Ops.crossEntropy(x, targets: t)
        let g = Ops.crossEntropyBackward(x, targets: t, forward: out, gradient: 2.5)
        #expect(g.shape == shape)
        let xs = x.scalars.map(Double.init)
        let count = Double(t.filter { $0 >= 0 }.count)
        var expected = [Float]()
        for row in 0..<n {
            let r = xs[(row * v)..<((row + 1) * v)]
            guard t[row] >= 0 else { expected += Array(repeating: 0, count: v); continue }
            let m = r.max()!
            let lse = m + Foundation.log(r.reduce(0) { $0 + Foundation.exp($1 - m) })
            expected += r.indices.map { j in
                Float((Foundation.exp(r[j] - lse) - (j - row * v == Int(t[row]) ? 1 : 0)) * 2.5 / count)
            }
        }
        expectClose(g.scalars, expected, rtol: 1e-5, atol: 1e-7, "\(shape)")
        for row in 0..<n where t[row] < 0 {
            #expect(g.scalars[(row * v)..<((row + 1) * v)].allSatisfy { $0 == 0 }, "ignored row \(row)")
        }
    }

    @Test("all rows ignored: loss 0 and zero gradient")
    func allIgnored() {
        let x = randomTensor([3, 17], seed: 5)
        let tape = Tape()
        let v = tape.variable(x)
        let loss = v.crossEntropy(targets: [-1, -1, -1])
        tape.backward(loss)
        #expect(loss.value.item == 0)
        #expect(tape.gradient(v)!.scalars.allSatisfy { $0 == 0 })
    }

    @Test("an out-of-range target stops the program naming row, target and V")
    func outOfRange() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Ops.crossEntropy(Tensor(zeros: [2, 5]), targets: [0, 5])
        }.map { result in
            let message = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(message.contains("target 5 at row 1 is outside the vocabulary 0..<5"), "\(message)")
        }
        await #expect(processExitsWith: .failure) {
            _ = Ops.crossEntropy(Tensor(zeros: [1, 5]), targets: [-100])
        }
    }
}
