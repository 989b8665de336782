import CLEXKernels
import CLEXTensor
import Testing

/// The C k-quant kernels (`clex_matmul` for Q4_K, Q5_K, Q6_K) against a Double product of the
/// Swift dequantisation of the weights and the float value of the prepared activations.
@Suite("k-quant kernels") struct KQuantKernelTests {
    static let types: [ElementType] = [.q4K, .q5K, .q6K]
    static let maxRows = 37, maxTokens = 300

    /// Random weights quantised from normal data (so scales and mins are realistic), rows
    /// `maxRows`, stored 2 bytes into the buffer so that no block is aligned.
    private static func weights(_ type: ElementType, k: Int, seed: UInt64) -> [UInt8] {
        var g = SeededGenerator(seed: seed)
        let x = (0..<maxRows * k).map { i in g.nextNormal() * (i % 256 < 32 ? 3 : 1) }
        var bytes = [UInt8](repeating: 0, count: 2 + type.byteCount(elements: x.count)!)
        x.withUnsafeBufferPointer { src in
            bytes.withUnsafeMutableBytes { type.quantize(src.baseAddress!, count: x.count, into: $0.baseAddress! + 2) }
        }
        return bytes
    }

    @Test("clex_matmul equals the dequantised product", arguments: types, [256, 512, 2048, 5632])
    func matmul(type: ElementType, k: Int) {
        let id = Int32(type.ggmlID)
        let wBytes = Self.weights(type, k: k, seed: UInt64(k) &+ UInt64(id))
        let rowBytes = type.byteCount(elements: k)!
        var g = SeededGenerator(seed: 99)
        let x = (0..<Self.maxTokens * k).map { i in g.nextNormal() * (i % 61 == 0 ? 8 : 1) }
        let xqRow = clex_activation_row_bytes(id, Int64(k))
        var xq = [UInt8](repeating: 0, count: xqRow * Self.maxTokens)
        var xf = [Float](repeating: 0, count: x.count)
        var wf = [Float](repeating: 0, count: Self.maxRows * k)
        x.withUnsafeBufferPointer { xp in
            xq.withUnsafeMutableBytes {
                clex_prepare_activations(id, xp.baseAddress!, Int64(Self.maxTokens), Int64(k), $0.baseAddress!)
            }
        }
        xq.withUnsafeBytes { clex_activations_to_float(id, $0.baseAddress!, Int64(Self.maxTokens), Int64(k), &xf) }
        wBytes.withUnsafeBytes { type.dequantize($0.baseAddress! + 2, count: wf.count, into: &wf) }

        // activations: every element within half a step (max|x| / 127 of its block of 256), up to the
        // rounding of x·(127 / max) that picks the level
        for block in stride(from: 0, to: x.count, by: 256) {
            let step = x[block..<block + 256].map(abs).max()! / 127
            let worst = (block..<block + 256).map { abs(xf[$0] - x[$0]) }.max()!
            #expect(worst <= 0.5 * step * (1 + 1e-4),
                    "\(type) activation block \(block / 256): \(worst) > half of \(step)")
        }

        // reference [maxTokens][maxRows] and Σ|w||x| for the tolerance
        var reference = [Double](repeating: 0, count: Self.maxTokens * Self.maxRows)
        var magnitude = reference
        for t in 0..<Self.maxTokens {
            for r in 0..<Self.maxRows {
                var s = 0.0, a = 0.0
                for j in 0..<k {
                    let p = Double(wf[r * k + j]) * Double(xf[t * k + j])
                    s += p
                    a += abs(p)
                }
                reference[t * Self.maxRows + r] = s
                magnitude[t * Self.maxRows + r] = a
            }
        }

        var failures = 0
        for rows in stride(from: 1, through: Self.maxRows, by: 2) {
            for tokens in [1, 2, 3, 8, 17, 64, 300] {
                for accumulate in [false, true] {
                    let ldy = rows + 5
                    var y = [Float](repeating: 0.25, count: ldy * tokens)
                    wBytes.withUnsafeBytes { w in
                        xq.withUnsafeBytes { q in
                            clex_matmul(id, w.baseAddress! + 2, rowBytes, Int64(rows), q.baseAddress!, Int64(tokens),
                                        Int64(k), &y, Int64(ldy), accumulate ? 1 : 0)
                        }
                    }
                    for t in 0..<tokens {
                        for r in 0..<ldy {
                            let got = y[t * ldy + r]
                            let ok: Bool
                            if r >= rows {
                                ok = got == 0.25  // beyond `rows`: untouched
                            } else {
                                let want = reference[t * Self.maxRows + r] + (accumulate ? 0.25 : 0)
                                ok = abs(Double(got) - want) <= 1e-5 * magnitude[t * Self.maxRows + r] + 1e-30
                            }
                            if !ok {
                                failures += 1
                                if failures <= 5 {
                                    let shape = "\(type) k \(k) rows \(rows) tokens \(tokens)"
                                    Issue.record("\(shape) accumulate \(accumulate) y[\(t), \(r)] = \(got)")
                                }
                            }
                        }
                    }
                }
            }
        }
        #expect(failures == 0, "\(type) k \(k): \(failures) outputs out of tolerance")
    }
}
