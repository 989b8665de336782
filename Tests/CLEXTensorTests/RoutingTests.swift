import CLEXTensor
import Foundation
import Testing

/// Top-k routing (HF MixtralSparseMoeBlock: softmax, top k, renormalise) and the row operations
/// a mixture of experts is built from, against direct computations and finite differences.
@Suite("routing")
struct RoutingTests {
    @Test("top-k softmax picks the largest logits and renormalises their softmax weights")
    func forward() throws {
        let logits = try Tensor(shape: [2, 4], values: [0.5, 2.0, -1.0, 1.5,
                                                        3.0, 3.0, 0.0, -2.0])
        let (experts, weights) = Ops.topKSoftmax(logits, k: 2)
        #expect(experts == [1, 3, 0, 1])   // row 2: a tie keeps the lower index first
        // HF: softmax over all four, keep two, divide by their sum.
        let p = [0.5, 2.0, -1.0, 1.5].map { exp($0) }
        let expected = [p[1] / (p[1] + p[3]), p[3] / (p[1] + p[3]), 0.5, 0.5].map(Float.init)
        expectClose(weights.scalars, expected, rtol: 1e-6, atol: 1e-7, "weights")
    }

    @Test("gradients of top-k weights, row scaling, scattering and row blocks match finite differences")
    func gradients() {
        let logits = randomTensor([6, 5], seed: 1, std: 2)
        let routing = GradientCheck().mismatches([logits]) { _, v in v[0].topKSoftmax(k: 2).weights }
        #expect(routing.isEmpty, "topKSoftmax: \(routing.prefix(3))")

        let (x, s) = (randomTensor([4, 7], seed: 2), randomTensor([4], seed: 3))
        let scaled = GradientCheck().mismatches([x, s]) { _, v in v[0].scaledRows(by: v[1]) }
        #expect(scaled.isEmpty, "scaledRows: \(scaled.prefix(3))")

        let scattered = GradientCheck().mismatches([x]) { _, v in v[0].scatteredRows([2, 0, 2, 5], count: 6) }
        #expect(scattered.isEmpty, "scatteredRows: \(scattered.prefix(3))")

        let block = GradientCheck().mismatches([x]) { _, v in v[0].rows(1..<3) }
        #expect(block.isEmpty, "rows: \(block.prefix(3))")
    }

    @Test("scattering adds rows sent to the same place")
    func scatterAccumulates() throws {
        let tape = Tape()
        let x = tape.constant(try Tensor(shape: [3, 2], values: [1, 2, 3, 4, 5, 6]))
        #expect(x.scatteredRows([1, 1, 0], count: 3).value.scalars == [5, 6, 4, 6, 0, 0])
    }
}
