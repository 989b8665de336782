import CLEXTensor
import Foundation

extension KernelBenchmarks {
    /// Element-wise, normalisation, softmax, loss, embedding and RoPE kernels: bandwidth-bound,
    /// so each reports GB/s of its compulsory traffic (inputs read + outputs written, 4 bytes an
    /// element) beside a parallel memory copy.
    func pointwiseRows(copyRate: Double) -> [BenchmarkRow] {
        var rng = SeededGenerator(seed: 3)
        let n = tokens
        let (width, hidden, vocab) = (576, 1536, 49152)
        var rows: [BenchmarkRow] = []
        func bytes(_ elements: Int...) -> Double { 4 * Double(elements.reduce(0, +)) }
        func time(_ body: () -> Void) -> Timing { Timing.measure(minSeconds: minSeconds, body) }

        let x = Tensor.randomNormal([n, width], generator: &rng)
        let w = Tensor.randomNormal([width], generator: &rng)
        let y = Tensor.randomNormal([n, width], generator: &rng)
        rows.append(byteRow("add", "\(n)×\(width)", time { _ = Ops.add(x, y) },
                            bytes: bytes(3 * n * width), copyRate: copyRate))
        rows.append(byteRow("rmsNorm", "\(n)×\(width)", time { _ = Ops.rmsNorm(x, weight: w, epsilon: 1e-5) },
                            bytes: bytes(2 * n * width), copyRate: copyRate))
        let gx = Tensor.randomNormal([n, width], generator: &rng)
        let (_, inverseRMS) = Ops.rmsNormWithStats(x, weight: w, epsilon: 1e-5)
        rows.append(byteRow("rmsNorm backward", "\(n)×\(width)",
                            time { _ = Ops.rmsNormBackward(x, weight: w, inverseRMS: inverseRMS, gradient: gx) },
                            bytes: bytes(3 * n * width), copyRate: copyRate))

        let gate = Tensor.randomNormal([n, hidden], generator: &rng)
        let up = Tensor.randomNormal([n, hidden], generator: &rng)
        rows.append(byteRow("silu", "\(n)×\(hidden)", time { _ = Ops.silu(gate) },
                            bytes: bytes(2 * n * hidden), copyRate: copyRate))
        rows.append(byteRow("swiglu", "\(n)×\(hidden)", time { _ = Ops.swiglu(gate, up) },
                            bytes: bytes(3 * n * hidden), copyRate: copyRate))
        rows.append(byteRow("swiglu backward", "\(n)×\(hidden)",
                            time { _ = Ops.swigluBackward(gate, up, gradient: gate) },
                            bytes: bytes(5 * n * hidden), copyRate: copyRate))

        let scores = Tensor.randomNormal([n, n], generator: &rng)
        rows.append(byteRow("softmax", "\(n)×\(n)", time { _ = Ops.softmax(scores) },
                            bytes: bytes(2 * n * n), copyRate: copyRate))

        let logits = Tensor.randomNormal([n, vocab], generator: &rng)
        let targets = (0..<n).map { _ in Int32(rng.next() % UInt64(vocab)) }
        rows.append(byteRow("cross-entropy fwd+bwd", "\(n)×\(vocab)",
                            time {
                                let forward = Ops.crossEntropy(logits, targets: targets)
                                _ = Ops.crossEntropyBackward(logits, targets: targets, forward: forward, gradient: 1)
                            },
                            bytes: bytes(3 * n * vocab), copyRate: copyRate))

        let table = Tensor.randomNormal([vocab, width], std: 0.02, generator: &rng)
        let ids = (0..<n).map { _ in Int32(rng.next() % UInt64(vocab)) }
        rows.append(byteRow("softmax backward", "\(n)×\(n)", time { _ = Ops.softmaxBackward(output: scores, gradient: scores) },
                            bytes: bytes(3 * n * n), copyRate: copyRate))
        rows.append(byteRow("embedding gather", "\(n) of \(vocab)×\(width)", time { _ = Ops.embedding(table, ids: ids) },
                            bytes: bytes(2 * n * width), copyRate: copyRate))

        let heads = Tensor.randomNormal([n, 9, 64], generator: &rng)
        let positions = (0..<n).map(Float.init)
        let inv = Tensor(zeros: [32])
        for j in 0..<32 { inv.pointer[j] = Float(1 / pow(10000.0, Double(2 * j) / 64)) }
        rows.append(byteRow("rope", "\(n)×9×64", time {
            _ = Ops.rope(heads, positions: positions, frequencies: inv, layout: .rotateHalf)
        }, bytes: bytes(2 * n * 9 * 64), copyRate: copyRate))
        rows.append(byteRow("rope backward (x, θ)", "\(n)×9×64", time {
            _ = Ops.ropeBackward(x: heads, positions: positions, frequencies: inv, layout: .rotateHalf,
                                 gradient: heads, needFrequencies: true)
        }, bytes: bytes(3 * n * 9 * 64), copyRate: copyRate))
        return rows
    }
}
