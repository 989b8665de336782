import CLEXFormats
import CLEXTensor
import Foundation
import Testing

/// Random blocks of `type` with sane fp16 scales (random bytes elsewhere).
private func randomBlocks(_ type: GGMLType, blocks: Int, seed: UInt64) -> [UInt8] {
    var rng = SeededGenerator(seed: seed)
    var bytes = (0..<(blocks * type.bytesPerBlock)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    let halves = type == .q4_1 ? 2 : 1
    for b in 0..<blocks {
        for h in 0..<halves {
            let v = Float16((rng.nextUnitFloat() - 0.5) * 0.2)
            bytes.setLE(v.bitPattern, at: b * type.bytesPerBlock + 2 * h)
        }
    }
    return bytes
}

private func half(_ bytes: [UInt8], _ offset: Int) -> Double {
    Double(Float16(bitPattern: UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8))
}

/// ggml's `dequantize_row_q8_0` / `_q4_0` / `_q4_1`, one element at a time, in Double (exact for
/// these formats) rounded once to Float.
private func referenceDequantize(_ type: GGMLType, _ bytes: [UInt8], blocks: Int) -> [Float] {
    var out = [Float](repeating: 0, count: 32 * blocks)
    for b in 0..<blocks {
        let o = b * type.bytesPerBlock
        let d = half(bytes, o)
        for j in 0..<16 {
            switch type {
            case .q8_0:
                out[32 * b + j] = Float(Double(Int8(bitPattern: bytes[o + 2 + j])) * d)
                out[32 * b + j + 16] = Float(Double(Int8(bitPattern: bytes[o + 18 + j])) * d)
            case .q4_0:
                out[32 * b + j] = Float(Double(Int(bytes[o + 2 + j] & 15) - 8) * d)
                out[32 * b + j + 16] = Float(Double(Int(bytes[o + 2 + j] >> 4) - 8) * d)
            default:
                let m = half(bytes, o + 2)
                out[32 * b + j] = Float(Double(bytes[o + 4 + j] & 15) * d + m)
                out[32 * b + j + 16] = Float(Double(bytes[o + 4 + j] >> 4) * d + m)
            }
        }
    }
    return out
}

private func dequantize(_ type: GGMLType, _ bytes: [UInt8], count: Int) -> [Float] {
    var out = [Float](repeating: .nan, count: count)
    bytes.withUnsafeBytes { raw in
        out.withUnsafeMutableBufferPointer { type.elementType!.dequantize(raw.baseAddress!, count: count, into: $0.baseAddress!) }
    }
    return out
}

private func quantize(_ type: GGMLType, _ values: [Float]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: type.byteCount(elements: values.count)!)
    values.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBytes { type.elementType!.quantize(src.baseAddress!, count: values.count, into: $0.baseAddress!) }
    }
    return out
}

@Suite("GGML block codecs") struct GGMLCodecTests {
    @Test("block sizes are ggml's", arguments: [(GGMLType.q4_0, 32, 18), (.q4_1, 32, 20), (.q8_0, 32, 34), (.q4K, 256, 144),
                                                  (.q6K, 256, 210), (.f16, 1, 2), (.bf16, 1, 2), (.iq4XS, 256, 136)])
    func blockSizes(type: GGMLType, block: Int, bytes: Int) {
        #expect(type.blockSize == block && type.bytesPerBlock == bytes, "\(type)")
        #expect(type.byteCount(elements: 3 * block) == 3 * bytes)
        #expect(type.byteCount(elements: block + 1) == (block == 1 ? 2 * bytes : nil))
    }

    @Test("dequantisation equals ggml's reference on random blocks", arguments: [GGMLType.q8_0, .q4_0, .q4_1])
    func matchesReference(type: GGMLType) {
        for blocks in [1, 3, 65, 2048] {
            let bytes = randomBlocks(type, blocks: blocks, seed: UInt64(blocks))
            let got = dequantize(type, bytes, count: 32 * blocks)
            let want = referenceDequantize(type, bytes, blocks: blocks)
            #expect(got == want, "\(type) \(blocks) blocks: max diff \(maxAbsDifference(got, want))")
        }
    }

    @Test("nibble order: low nibbles are elements 0…15, high nibbles 16…31")
    func nibbleOrder() {
        var q40: [UInt8] = [], q41: [UInt8] = []
        q40.appendLE(Float16(1).bitPattern)
        q41.appendLE(Float16(0.5).bitPattern)
        q41.appendLE(Float16(-1).bitPattern)
        for j in 0..<16 {
            q40.append(UInt8(j) | UInt8(15 - j) << 4)
            q41.append(UInt8(j) | UInt8(15 - j) << 4)
        }
        let a = dequantize(.q4_0, q40, count: 32)
        let b = dequantize(.q4_1, q41, count: 32)
        for j in 0..<16 {
            #expect(a[j] == Float(j - 8) && a[j + 16] == Float(7 - j), "Q4_0 element \(j)")
            #expect(b[j] == Float(j) * 0.5 - 1 && b[j + 16] == Float(15 - j) * 0.5 - 1, "Q4_1 element \(j)")
        }
    }

    @Test("values on the quantisation grid round-trip exactly", arguments: [GGMLType.q8_0, .q4_0, .q4_1])
    func exactGrid(type: GGMLType) {
        var rng = SeededGenerator(seed: 7)
        let values: [Float] = (0..<64).map { j in
            let r = Int(rng.next() % 16)
            switch type {
            case .q8_0: return Float(j % 32 == 5 ? 127 : Int(rng.next() % 255) - 127) * 0.125
            case .q4_0: return Float(j % 32 == 9 ? -8 : r - 8) * 0.5
            default: return Float(j % 32 == 3 ? 0 : j % 32 == 4 ? 15 : r) * 0.25 - 1.5
            }
        }
        #expect(dequantize(type, quantize(type, values), count: 64) == values)
    }

    @Test("quantise then dequantise stays within the block's step", arguments: [GGMLType.q8_0, .q4_0, .q4_1])
    func roundTripError(type: GGMLType) {
        let x = uniformTensor([17 * 32], seed: 3, low: -3, high: 2).scalars
        let y = dequantize(type, quantize(type, x), count: x.count)
        for b in 0..<17 {
            let block = x[(32 * b)..<(32 * b + 32)]
            let (lo, hi) = (block.min()!, block.max()!)
            let amax = max(abs(lo), abs(hi))
            let bound: Float = switch type {
            case .q8_0: amax / 127 * 0.6
            case .q4_0: amax / 8 * 1.1
            default: (hi - lo) / 15 * 0.6 + abs(lo) * 1e-3
            }
            let err = maxAbsDifference(Array(block), Array(y[(32 * b)..<(32 * b + 32)]))
            #expect(err <= bound, "\(type) block \(b): error \(err) > \(bound)")
        }
    }

    @Test("quantisers never trap on NaN or infinity; a zero block stays zero", arguments: [GGMLType.q8_0, .q4_0, .q4_1])
    func nonFinite(type: GGMLType) {
        var x = [Float](repeating: 0.5, count: 32)
        x[3] = .nan
        x[7] = .infinity
        x[9] = -.infinity
        #expect(quantize(type, x).count == type.bytesPerBlock)
        let zeros = [Float](repeating: 0, count: 32)
        #expect(dequantize(type, quantize(type, zeros), count: 32) == zeros)
    }

    @Test("F16 and BF16 widen exactly; narrowing rounds to nearest even")
    func halves() {
        let values: [Float] = (0..<37).map { Float($0) * 0.37 - 5 } + [65504, -0.0, 6.1e-5, 1e-8]
        var f16 = [UInt8](repeating: 0, count: 2 * values.count), bf16 = f16
        var back = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { src in
            f16.withUnsafeMutableBytes { HalfPrecision.f32ToF16(src.baseAddress!, $0.baseAddress!, values.count) }
            bf16.withUnsafeMutableBytes { HalfPrecision.f32ToBF16(src.baseAddress!, $0.baseAddress!, values.count) }
        }
        f16.withUnsafeBytes { raw in back.withUnsafeMutableBufferPointer { HalfPrecision.f16ToF32(raw.baseAddress!, $0.baseAddress!, values.count) } }
        #expect(back == values.map { Float(Float16($0)) })
        bf16.withUnsafeBytes { raw in back.withUnsafeMutableBufferPointer { HalfPrecision.bf16ToF32(raw.baseAddress!, $0.baseAddress!, values.count) } }
        for (v, b) in zip(values, back) {
            #expect(abs(v - b) <= abs(v) / 256, "bf16 of \(v) is \(b)")
        }
        #expect(HalfPrecision.bf16Bits(1 + 1.0 / 256) == 0x3F80, "tie rounds to even (down)")
        #expect(HalfPrecision.bf16Bits(1 + 3.0 / 256) == 0x3F82, "tie rounds to even (up)")
        #expect(HalfPrecision.bf16Bits(.nan) == 0x7FC0)
    }
}
