import CLEXTensor
import Testing

/// Random k-quant blocks as scripts/kquant-golden.py draws them: one generator draw per byte, then
/// each fp16 scale field replaced by a random finite half.
private func randomBlocks(_ type: ElementType, count: Int, generator g: inout SeededGenerator) -> [UInt8] {
    let halfOffsets = type == .q6K ? [208] : [0, 2]
    var bytes: [UInt8] = []
    for _ in 0..<count {
        var block = (0..<type.bytesPerBlock).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        for offset in halfOffsets {
            var h = g.next() % 0xF800
            if h >= 0x7C00 { h += 0x400 }  // skip inf/NaN patterns
            block[offset] = UInt8(truncatingIfNeeded: h)
            block[offset + 1] = UInt8(truncatingIfNeeded: h >> 8)
        }
        bytes += block
    }
    return bytes
}

private func dequantized(_ type: ElementType, _ bytes: [UInt8]) -> [Float] {
    let count = bytes.count / type.bytesPerBlock * type.blockSize
    var out = [Float](repeating: .nan, count: count)
    bytes.withUnsafeBytes { src in
        out.withUnsafeMutableBufferPointer { type.dequantize(src.baseAddress!, count: count, into: $0.baseAddress!) }
    }
    return out
}

private func quantized(_ type: ElementType, _ values: [Float]) -> [UInt8] {
    var out = [UInt8](repeating: 0xAA, count: type.byteCount(elements: values.count)!)
    values.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBytes { type.quantize(src.baseAddress!, count: values.count, into: $0.baseAddress!) }
    }
    return out
}

/// FNV-1a 64 over the little-endian bytes of the values' bit patterns.
private func digest(_ values: [Float]) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for v in values {
        for i in 0..<4 {
            h ^= UInt64((v.bitPattern >> (8 * UInt32(i))) & 0xFF)
            h &*= 0x100_0000_01B3
        }
    }
    return h
}

/// FNV-1a 64 over bytes.
private func digest(_ bytes: [UInt8]) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in bytes {
        h ^= UInt64(b)
        h &*= 0x100_0000_01B3
    }
    return h
}

/// Deterministic quantiser inputs: 48 blocks of normal, all-positive, heavy-tailed and
/// integer-valued data at three magnitudes.
private func referenceInputs() -> [Float] {
    var g = SeededGenerator(seed: 0x51_5541_4E54)
    var x: [Float] = []
    for b in 0..<48 {
        let scale: Float = [1, 1e-3, 40][b % 3]
        for _ in 0..<256 {
            let n = g.nextNormal()
            switch b % 4 {
            case 0: x.append(n * scale)
            case 1: x.append((abs(n) + 0.5) * scale)
            case 2: x.append(n * n * n * scale)
            default: x.append((n * 3).rounded() * scale)
            }
        }
    }
    return x
}

/// The little-endian half at b[at] as a float.
private func half(_ b: [UInt8], _ at: Int) -> Float {
    Float(Float16(bitPattern: UInt16(b[at]) | UInt16(b[at + 1]) << 8))
}

/// One block's values element by element from the layout (ggml-common.h), in ggml's operation
/// order, independent of the library's vectorised code.
private func referenceDequantize(_ type: ElementType, _ b: [UInt8]) -> [Float] {
    var out = [Float](repeating: 0, count: 256)
    if type == .q6K {
        let d = half(b, 208)
        for e in 0..<256 {
            let (h, i, l) = (e / 128, e % 128 / 32, e % 32)
            let byte = b[64 * h + l + (i & 1 == 1 ? 32 : 0)]
            let low = i < 2 ? byte & 15 : byte >> 4
            let high = b[128 + 32 * h + l] >> (2 * UInt8(i)) & 3
            let q = Int(low | high << 4) - 32
            out[e] = d * Float(Int8(bitPattern: b[192 + e / 16])) * Float(q)
        }
        return out
    }
    let (d, dmin) = (half(b, 0), half(b, 2))
    let qsAt = type == .q5K ? 48 : 16
    for e in 0..<256 {
        let (c, upper, l) = (e / 64, e % 64 >= 32, e % 32)
        let j = e / 32
        let sc = j < 4 ? b[4 + j] & 63 : b[4 + j + 4] & 15 | (b[4 + j - 4] >> 6) << 4
        let m = j < 4 ? b[4 + j + 4] & 63 : b[4 + j + 4] >> 4 | (b[4 + j] >> 6) << 4
        var q = Int(upper ? b[qsAt + 32 * c + l] >> 4 : b[qsAt + 32 * c + l] & 15)
        if type == .q5K && (b[16 + l] >> UInt8(2 * c + (upper ? 1 : 0))) & 1 == 1 { q += 16 }
        out[e] = d * Float(sc) * Float(q) - dmin * Float(m)
    }
    return out
}

@Suite("k-quants") struct KQuantTests {
    static let types: [ElementType] = [.q4K, .q5K, .q6K]

    @Test("dequantisation equals gguf-py's bit for bit (fixture from scripts/kquant-golden.py)")
    func golden() {
        var g = SeededGenerator(seed: KQuantGolden.seed)
        let expected: [(ElementType, UInt64, [UInt32])] = [
            (.q4K, KQuantGolden.q4KDigest, KQuantGolden.q4KSamples),
            (.q5K, KQuantGolden.q5KDigest, KQuantGolden.q5KSamples),
            (.q6K, KQuantGolden.q6KDigest, KQuantGolden.q6KSamples),
        ]
        for (type, wantDigest, samples) in expected {
            let values = dequantized(type, randomBlocks(type, count: KQuantGolden.blocks, generator: &g))
            for b in 0..<KQuantGolden.blocks {
                for (s, i) in KQuantGolden.sampleIndices.enumerated() {
                    let want = samples[b * KQuantGolden.sampleIndices.count + s]
                    #expect(values[256 * b + i].bitPattern == want,
                            "\(type) block \(b) element \(i): \(values[256 * b + i]) vs \(Float(bitPattern: want))")
                }
            }
            #expect(digest(values) == wantDigest, "\(type): digest of all values")
        }
    }

    @Test("dequantisation equals an element-by-element reading of the layout", arguments: types)
    func elementwise(type: ElementType) {
        var g = SeededGenerator(seed: 7)
        let bytes = randomBlocks(type, count: 33, generator: &g)
        let values = dequantized(type, bytes)
        for b in 0..<33 {
            let block = Array(bytes[b * type.bytesPerBlock..<(b + 1) * type.bytesPerBlock])
            let want = referenceDequantize(type, block)
            let got = Array(values[256 * b..<256 * (b + 1)])
            #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "\(type) block \(b)")
        }
    }

    @Test("quantise then dequantise stays within the grid's error", arguments: types)
    func roundTrip(type: ElementType) {
        // bounds on the RMS error relative to the RMS of the input, and on any element's error
        // relative to its block's largest magnitude (measured: well inside)
        let (rmsBound, maxBound): (Double, Float) = switch type {
        case .q4K: (0.12, 0.16)
        case .q5K: (0.06, 0.08)
        default: (0.03, 0.07)
        }
        var g = SeededGenerator(seed: 11)
        for scale: Float in [1, 1e-3, 300] {
            let count = 256 * 24
            // normal data, plus some blocks all positive and some with outliers
            var x = (0..<count).map { _ in g.nextNormal() * scale }
            for i in 0..<256 { x[256 * 3 + i] = abs(x[256 * 3 + i]) + scale }
            for b in stride(from: 5, to: 24, by: 6) { x[256 * b + b] = 12 * scale }
            let y = dequantized(type, quantized(type, x))
            var errorSquares = 0.0, inputSquares = 0.0
            for b in 0..<24 {
                let block = x[256 * b..<256 * (b + 1)]
                let amax = block.map(abs).max()!
                for i in block.indices {
                    let err = abs(y[i] - x[i])
                    errorSquares += Double(err * err)
                    inputSquares += Double(x[i] * x[i])
                    #expect(err <= maxBound * amax, "\(type) scale \(scale) element \(i): \(y[i]) vs \(x[i])")
                }
            }
            let rms = (errorSquares / inputSquares).squareRoot()
            #expect(rms < rmsBound, "\(type) scale \(scale): relative RMS error \(rms)")
        }
    }

    /// The digests are of the blocks ggml's quantize_row_q4_K_ref / _q5_K_ref / _q6_K_ref write for
    /// `referenceInputs()` when built without contracting a·b + c into fused multiply-adds (checked
    /// with a local build of those functions, which is not part of this repository; with
    /// contraction, as GCC does by default on FMA hardware, some Q4_K/Q5_K ties go the other way).
    @Test("quantisation writes ggml's reference blocks byte for byte")
    func referenceBlocks() {
        let x = referenceInputs()
        let expected: [(ElementType, UInt64)] = [(.q4K, 0x02CE_6024_2E90_BA84), (.q5K, 0x2F02_8D35_7286_5775),
                                                  (.q6K, 0x8B03_138A_7BF4_CA2A)]
        for (type, want) in expected {
            #expect(digest(quantized(type, x)) == want, "\(type)")
        }
    }

    @Test("a zero block quantises to zeros and back", arguments: types)
    func zeroBlock(type: ElementType) {
        let bytes = quantized(type, [Float](repeating: 0, count: 512))
        #expect(dequantized(type, bytes).allSatisfy { $0 == 0 }, "\(type)")
        #expect(bytes.allSatisfy { $0 == 0 } || type != .q6K, "Q6_K writes an all-zero block, as ggml")
    }

    @Test("non-finite and extreme inputs never trap; NaN reads as 0", arguments: types)
    func nonFinite(type: ElementType) {
        var g = SeededGenerator(seed: 13)
        let specials: [Float] = [.nan, .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                 .leastNonzeroMagnitude, 1e-40]
        for special in specials {
            var x = (0..<512).map { _ in g.nextNormal() }
            for i in stride(from: 0, to: 512, by: 37) { x[i] = special }
            _ = dequantized(type, quantized(type, x))  // any values, but no trap
            _ = dequantized(type, quantized(type, [Float](repeating: special, count: 256)))
        }
        // a NaN is quantised as a 0 among its block's other values
        var x = (0..<256).map { _ in g.nextNormal() }
        var withZero = x
        x[100] = .nan
        withZero[100] = 0
        #expect(quantized(type, x) == quantized(type, withZero), "\(type)")
    }
}
