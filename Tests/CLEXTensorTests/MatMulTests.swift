import CLEXTensor
import Testing

/// Reference product by triple loop in Double.
private func naiveMatmul(_ a: Tensor, _ b: Tensor, _ ta: Bool, _ tb: Bool) -> [Float] {
    let batch = Array(a.shape.dropLast(2))
    let bc = batch.reduce(1, *)
    let m = ta ? a.shape[a.rank - 1] : a.shape[a.rank - 2]
    let k = ta ? a.shape[a.rank - 2] : a.shape[a.rank - 1]
    let n = tb ? b.shape[b.rank - 2] : b.shape[b.rank - 1]
    let shared = b.rank == 2
    var out = [Float](repeating: 0, count: bc * m * n)
    let (pa, pb) = (a.pointer, b.pointer)
    for z in 0..<bc {
        let ao = z * m * k, bo = shared ? 0 : z * k * n
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for l in 0..<k {
                    let x = ta ? pa[ao + l * m + i] : pa[ao + i * k + l]
                    let y = tb ? pb[bo + j * k + l] : pb[bo + l * n + j]
                    s += Double(x) * Double(y)
                }
                out[z * m * n + i * n + j] = Float(s)
            }
        }
    }
    return out
}

@Suite("matmul") struct MatMulTests {
    static let shapes: [(m: Int, k: Int, n: Int)] = [(1, 1, 1), (3, 17, 5), (17, 65, 3), (65, 3, 333), (1, 333, 17)]

    @Test("forward equals a triple loop for every transpose combination", arguments: [false, true], [false, true])
    func forward(ta: Bool, tb: Bool) {
        for (m, k, n) in Self.shapes {
            let a = randomTensor(ta ? [k, m] : [m, k], seed: 1)
            let b = randomTensor(tb ? [n, k] : [k, n], seed: 2)
            expectClose(Ops.matmul(a, b, transposeA: ta, transposeB: tb).scalars, naiveMatmul(a, b, ta, tb),
                        rtol: 1e-4, atol: 1e-4, "\(m)x\(k)x\(n)")
        }
    }

    @Test("batched and broadcast forward", arguments: [false, true], [false, true])
    func batched(ta: Bool, tb: Bool) {
        let (m, k, n) = (7, 5, 3)
        let a = randomTensor([2, 3] + (ta ? [k, m] : [m, k]), seed: 3)
        let b = randomTensor([2, 3] + (tb ? [n, k] : [k, n]), seed: 4)
        let c = Ops.matmul(a, b, transposeA: ta, transposeB: tb)
        #expect(c.shape == [2, 3, m, n])
        expectClose(c.scalars, naiveMatmul(a, b, ta, tb), rtol: 1e-4, atol: 1e-5, "batched")
        let b2 = randomTensor(tb ? [n, k] : [k, n], seed: 5)
        expectClose(Ops.matmul(a, b2, transposeA: ta, transposeB: tb).scalars, naiveMatmul(a, b2, ta, tb),
                    rtol: 1e-4, atol: 1e-5, "broadcast")
    }

    @Test("gradients match finite differences", arguments: [false, true], [false, true])
    func gradients(ta: Bool, tb: Bool) {
        for (m, k, n) in [(1, 1, 1), (3, 17, 5), (17, 3, 65)] {
            let a = randomTensor(ta ? [k, m] : [m, k], seed: 11)
            let b = randomTensor(tb ? [n, k] : [k, n], seed: 12)
            let bad = GradientCheck().mismatches([a, b]) { _, v in
                v[0].matmul(v[1], transposeA: ta, transposeB: tb)
            }
            #expect(bad.isEmpty, "\(m)x\(k)x\(n): \(bad.prefix(3))")
        }
        for shareB in [false, true] {
            let a = randomTensor([2, 3] + (ta ? [5, 4] : [4, 5]), seed: 13)
            let b = randomTensor((shareB ? [] : [2, 3]) + (tb ? [3, 5] : [5, 3]), seed: 14)
            let bad = GradientCheck().mismatches([a, b]) { _, v in
                v[0].matmul(v[1], transposeA: ta, transposeB: tb)
            }
            #expect(bad.isEmpty, "batched shareB=\(shareB): \(bad.prefix(3))")
        }
    }

    @Test("a shape mismatch stops an optimised build with a message naming both shapes")
    func mismatchStops() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Ops.matmul(Tensor(zeros: [3, 5]), Tensor(zeros: [4, 2]))
        }.map { result in
            let message = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(message.contains("inner dimensions differ for shapes [3, 5] and [4, 2]"), "\(message)")
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Ops.add(Tensor(zeros: [2, 3]), Tensor(zeros: [2]))
        }.map { result in
            let message = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(message.contains("shape [2] must equal the trailing dimensions of shape [2, 3]"), "\(message)")
        }
    }

    @Test("shape mismatch message names both shapes")
    func message() {
        let m = ShapeCheck.same("add", [2, 3], [3, 2])
        #expect(m == "add: shapes [2, 3] and [3, 2] must be equal")
        #expect(ShapeCheck.suffix("mul", [4, 3], [3]) == nil)
        #expect(ShapeCheck.suffix("mul", [4, 3], [4])?.contains("[4, 3]") == true)
    }
}
