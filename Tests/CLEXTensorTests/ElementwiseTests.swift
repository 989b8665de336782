import CLEXTensor
import Testing

@Suite("element-wise") struct ElementwiseTests {
    @Test("broadcast add/sub/mul forward and gradients", arguments: [[1], [3], [17], [5, 65], [2, 3, 333]])
    func broadcast(shape: [Int]) {
        let a = randomTensor([4] + shape, seed: 1)
        let b = randomTensor(shape, seed: 2)
        let (pa, pb) = (a.scalars, b.scalars)
        let inner = b.count
        expectClose(Ops.add(a, b).scalars, pa.indices.map { pa[$0] + pb[$0 % inner] }, "add")
        expectClose(Ops.sub(a, b).scalars, pa.indices.map { pa[$0] - pb[$0 % inner] }, "sub")
        expectClose(Ops.mul(a, b).scalars, pa.indices.map { pa[$0] * pb[$0 % inner] }, "mul")
        for op in 0..<3 {
            let bad = GradientCheck().mismatches([a, b]) { _, v in
                switch op {
                case 0: return v[0] + v[1]
                case 1: return v[0] - v[1]
                default: return (v[0] * v[1]).scaled(by: 0.5)
                }
            }
            #expect(bad.isEmpty, "op \(op): \(bad.prefix(3))")
        }
    }

    @Test("a variable used twice accumulates both gradients")
    func reuse() {
        let tape = Tape()
        let x = tape.variable(try! Tensor(shape: [3], values: [1, 2, 3]))
        let y = (x * x + x).sum()
        tape.backward(y)
        #expect(tape.gradient(x)?.scalars == [3, 5, 7])
        #expect(y.value.item == 20)
    }
}
