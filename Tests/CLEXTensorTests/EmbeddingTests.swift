import CLEXTensor
import Testing

/// Embedding gather and scatter-add. The forward copies rows, so it must be exact; the backward
/// sums at most a few hundred Float terms per element in id order, compared with a Double sum at
/// rtol 1e-5 plus atol 1e-5. Gradients through the tape use `GradientCheck`'s default tolerance
/// (a gather is linear, so finite differences are exact up to rounding).
@Suite("embedding") struct EmbeddingTests {
    /// `n` ids in 0..<v drawn with replacement (so ids repeat when n is near or above v).
    private func ids(_ n: Int, _ v: Int, seed: UInt64) -> [Int32] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { _ in Int32(rng.next() % UInt64(v)) }
    }

    @Test("forward copies the rows named by the ids", arguments: [[1, 1, 1], [17, 3, 5], [65, 333, 40], [3, 17, 1]])
    func forward(dims: [Int]) {
        let (v, e, n) = (dims[0], dims[1], dims[2])
        let table = randomTensor([v, e], seed: 1)
        let i = ids(n, v, seed: 2)
        let out = Ops.embedding(table, ids: i)
        #expect(out.shape == [n, e])
        let t = table.scalars
        #expect(out.scalars == i.flatMap { t[(Int($0) * e)..<((Int($0) + 1) * e)] })
    }

    @Test("repeated ids accumulate their gradients")
    func repeated() throws {
        let g = try Tensor(shape: [4, 2], values: [1, 2, 10, 20, 100, 200, 1000, 2000])
        let d = Ops.embeddingBackward(ids: [2, 0, 2, 2], vocabularySize: 3, gradient: g)
        #expect(d.shape == [3, 2])
        #expect(d.scalars == [10, 20, 0, 0, 1101, 2202])
    }

    @Test("backward matches a Double scatter-add", arguments: [[7, 333, 500], [3, 17, 65], [1, 65, 3], [50, 576, 200]])
    func backward(dims: [Int]) {
        let (v, e, n) = (dims[0], dims[1], dims[2])
        let i = ids(n, v, seed: 3)
        let g = randomTensor([n, e], seed: 4)
        let gs = g.scalars
        var expected = [Double](repeating: 0, count: v * e)
        for (row, id) in i.enumerated() {
            for j in 0..<e { expected[Int(id) * e + j] += Double(gs[row * e + j]) }
        }
        let d = Ops.embeddingBackward(ids: i, vocabularySize: v, gradient: g)
        expectClose(d.scalars, expected.map { Float($0) }, rtol: 1e-5, atol: 1e-5, "\(dims)")
    }

    @Test("gradient through the tape matches finite differences")
    func gradients() {
        for (v, e, n) in [(3, 17, 5), (17, 3, 65), (1, 333, 3)] {
            let table = randomTensor([v, e], seed: 5)
            let i = ids(n, v, seed: 6)
            let bad = GradientCheck().mismatches([table]) { _, vars in vars[0].embedding(ids: i) }
            #expect(bad.isEmpty, "\(v)x\(e), \(n) ids: \(bad.prefix(3))")
        }
    }

    @Test("an out-of-range id stops the program naming the id and V")
    func outOfRange() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Ops.embedding(Tensor(zeros: [4, 2]), ids: [1, 4])
        }.map { result in
            let message = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(message.contains("token id 4 at position 1 is outside the vocabulary 0..<4"), "\(message)")
        }
        await #expect(processExitsWith: .failure) {
            _ = Ops.embedding(Tensor(zeros: [4, 2]), ids: [-1])
        }
    }
}
