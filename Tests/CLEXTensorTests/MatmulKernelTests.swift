import CLEXKernels
import CLEXTensor
import Testing

/// The C matrix kernels (`clex_matmul` on weights in their stored type) against a Double
/// reference built from `ElementType.dequantize` and `clex_activations_to_float`: the kernels
/// multiply exactly these values, so any difference is Float32 summation order, bounded here by
/// 1e-5·(Σ_j |w_j·x_j| + |y before|) per output. Weights sit 2 bytes past an allocation's start
/// (memory-mapped GGUF tensors need not be aligned) and outputs have a row stride ldy > rows.
@Suite("matmul kernels") struct MatmulKernelTests {
    static let types: [ElementType] = [.q4_0, .q4_1, .q8_0, .f32, .f16, .bf16]
    static let rowCounts = [1, 3, 17, 33, 67]
    static let ks = [32, 96, 2048 + 32, 5632]
    static let tokenCounts = [1, 2, 3, 8, 17, 64, 300]

    /// Random weights: random bytes with every block's fp16 scale (and Q4_1 min) set to a modest
    /// value; F16/BF16/F32 elements drawn as floats.
    static func randomWeights(_ type: ElementType, rows: Int, k: Int, rng: inout SeededGenerator) -> [UInt8] {
        let rowBytes = type.byteCount(elements: k)!
        var bytes = (0..<(rows * rowBytes)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        func put(_ bits: UInt16, _ offset: Int) {
            bytes[offset] = UInt8(bits & 0xFF)
            bytes[offset + 1] = UInt8(bits >> 8)
        }
        func value() -> Float { Float.random(in: 0.001...0.05, using: &rng) * (Bool.random(using: &rng) ? 1 : -1) }
        switch type {
        case .q4_0, .q4_1, .q8_0:
            for block in stride(from: 0, to: bytes.count, by: type.bytesPerBlock) {
                put(Float16(value()).bitPattern, block)
                if type == .q4_1 { put(Float16(value()).bitPattern, block + 2) }
            }
        case .f16:
            for i in 0..<(rows * k) { put(Float16(Float.random(in: -1...1, using: &rng)).bitPattern, 2 * i) }
        case .bf16:
            for i in 0..<(rows * k) { put(HalfPrecision.bf16Bits(Float.random(in: -1...1, using: &rng)), 2 * i) }
        default:
            for i in 0..<(rows * k) {
                let bits = Float.random(in: -1...1, using: &rng).bitPattern
                for b in 0..<4 { bytes[4 * i + b] = UInt8(truncatingIfNeeded: bits >> (8 * UInt32(b))) }
            }
        }
        return bytes
    }

    /// Random activations with some larger entries, so block scales differ.
    static func randomActivations(tokens: Int, k: Int, rng: inout SeededGenerator) -> [Float] {
        (0..<(tokens * k)).map { i in Float.random(in: -1...1, using: &rng) * (i % 7 == 0 ? 4 : 1) }
    }

    /// Prepares x for `type` and returns the prepared bytes and what they stand for as floats.
    static func prepare(_ type: ElementType, _ x: [Float], tokens: Int, k: Int) -> (prepared: [UInt8], values: [Float]) {
        let id = Int32(type.ggmlID)
        var prepared = [UInt8](repeating: 0, count: clex_activation_row_bytes(id, Int64(k)) * tokens)
        var values = [Float](repeating: 0, count: tokens * k)
        prepared.withUnsafeMutableBytes { p in
            clex_prepare_activations(id, x, Int64(tokens), Int64(k), p.baseAddress)
            clex_activations_to_float(id, p.baseAddress, Int64(tokens), Int64(k), &values)
        }
        return (prepared, values)
    }

    @Test("clex_matmul matches a Double reference over rows, k, tokens, both accumulate modes",
          arguments: types)
    func matmul(type: ElementType) {
        var rng = SeededGenerator(seed: UInt64(type.ggmlID) + 11)
        let id = Int32(type.ggmlID)
        // float types also take any k: tails shorter than a vector
        for k in Self.ks + (type.isQuantized ? [] : [7, 45]) {
            for rows in Self.rowCounts {
                let rowBytes = type.byteCount(elements: k)!
                // the weights 2 bytes into the buffer: no alignment beyond 2 bytes
                let weights = [0, 0] + Self.randomWeights(type, rows: rows, k: k, rng: &rng)
                var w = [Float](repeating: 0, count: rows * k)
                weights.withUnsafeBytes { type.dequantize($0.baseAddress! + 2, count: rows * k, into: &w) }
                for tokens in Self.tokenCounts where rows * k * tokens <= 40_000_000 {
                    let x = Self.randomActivations(tokens: tokens, k: k, rng: &rng)
                    let (prepared, xv) = Self.prepare(type, x, tokens: tokens, k: k)
                    let ldy = rows + 3
                    for accumulate in [Int32(0), 1] {
                        let initial = (0..<(tokens * ldy)).map { Float($0 % 5) - 2 }
                        var y = initial
                        weights.withUnsafeBytes { wp in
                            prepared.withUnsafeBytes { xp in
                                clex_matmul(id, wp.baseAddress! + 2, rowBytes, Int64(rows), xp.baseAddress, Int64(tokens),
                                            Int64(k), &y, Int64(ldy), accumulate)
                            }
                        }
                        var bad = 0, worst = 0.0
                        for t in 0..<tokens {
                            for r in 0..<ldy {
                                let i = t * ldy + r
                                guard r < rows else {
                                    if y[i] != initial[i] { bad += 1 }
                                    continue
                                }
                                let before = accumulate == 1 ? Double(initial[i]) : 0
                                var sum = before, bound = abs(before)
                                for j in 0..<k {
                                    let p = Double(w[r * k + j]) * Double(xv[t * k + j])
                                    sum += p
                                    bound += abs(p)
                                }
                                let ratio = abs(Double(y[i]) - sum) / (1e-5 * bound + 1e-30)
                                if !(ratio <= 1) { bad += 1 }
                                if !(ratio <= worst) { worst = ratio }
                            }
                        }
                        #expect(bad == 0, "\(type) rows \(rows) k \(k) tokens \(tokens) accumulate \(accumulate): \(bad) outputs off, worst \(worst)× the tolerance")
                    }
                }
            }
        }
    }

    @Test("prepared activations are within half a quantisation step (exact for float types)",
          arguments: types)
    func activations(type: ElementType) {
        var rng = SeededGenerator(seed: 7)
        for k in Self.ks {
            let tokens = 5
            var x = Self.randomActivations(tokens: tokens, k: k, rng: &rng)
            for j in 0..<32 { x[j] = 0 }  // an all-zero block
            let (_, xv) = Self.prepare(type, x, tokens: tokens, k: k)
            var bad = 0
            for block in stride(from: 0, to: tokens * k, by: 32) {
                let amax = x[block..<(block + 32)].map(abs).max()!
                let halfStep = type.isQuantized ? 0.5 * amax / 127 * (1 + 1e-6) : 0
                for j in block..<(block + 32) where !(abs(x[j] - xv[j]) <= halfStep) { bad += 1 }
            }
            #expect(bad == 0, "\(type) k \(k): \(bad) elements further than half a step")
        }
    }
}
