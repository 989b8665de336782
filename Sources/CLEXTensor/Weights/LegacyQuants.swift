/// ggml's original block formats, 32 consecutive elements of a row per block (`block_q8_0`,
/// `block_q4_0`, `block_q4_1` in ggml-common.h):
///
/// - `Q8_0` (34 bytes): fp16 `d`, 32 × int8 `q`; value = `q · d`.
/// - `Q4_0` (18 bytes): fp16 `d`, 16 bytes; element `j < 16` is the low nibble of byte `j`,
///   element `j + 16` its high nibble; value = `(nibble − 8) · d`.
/// - `Q4_1` (20 bytes): fp16 `d`, fp16 `m`, 16 bytes of nibbles as in Q4_0; value = `nibble · d + m`.
///
/// Quantisation follows ggml's reference quantisers (`quantize_row_q8_0_ref` etc.), so blocks
/// written here dequantise the same in llama.cpp.
enum LegacyQuants {
    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
    }

    @inline(__always)
    static func storeHalf(_ value: Float, _ p: UnsafeMutableRawPointer, _ offset: Int) {
        p.storeBytes(of: Float16(value).bitPattern.littleEndian, toByteOffset: offset, as: UInt16.self)
    }

    // MARK: - Dequantisation

    static func dequantizeQ8_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for b in 0..<blocks {
            let p = src + 34 * b
            let out = UnsafeMutableRawPointer(dst + 32 * b)
            let d = half(p, 0)
            let q0 = SIMD16<Float>(p.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self))
            let q1 = SIMD16<Float>(p.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self))
            out.storeBytes(of: q0 * d, as: SIMD16<Float>.self)
            out.storeBytes(of: q1 * d, toByteOffset: 64, as: SIMD16<Float>.self)
        }
    }

    static func dequantizeQ4_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int) {
        dequantizeQ4(src, dst, blocks: blocks, hasMin: false)
    }

    static func dequantizeQ4_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int) {
        dequantizeQ4(src, dst, blocks: blocks, hasMin: true)
    }

    /// Q4_0 (`hasMin == false`: bias −8·d) and Q4_1 (bias `m`): value = nibble · d + bias.
    @inline(__always)
    private static func dequantizeQ4(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int,
                                     hasMin: Bool) {
        let stride = hasMin ? 20 : 18
        let qsOffset = hasMin ? 4 : 2
        for b in 0..<blocks {
            let p = src + stride * b
            let out = UnsafeMutableRawPointer(dst + 32 * b)
            let d = half(p, 0)
            let bias = SIMD16<Float>(repeating: hasMin ? half(p, 2) : -8 * d)
            let q = p.loadUnaligned(fromByteOffset: qsOffset, as: SIMD16<UInt8>.self)
            let lo = SIMD16<Float>(q & 0x0F)
            let hi = SIMD16<Float>(q &>> 4)
            out.storeBytes(of: bias.addingProduct(lo, d), as: SIMD16<Float>.self)
            out.storeBytes(of: bias.addingProduct(hi, d), toByteOffset: 64, as: SIMD16<Float>.self)
        }
    }

    // MARK: - Reference quantisers (ggml-quants.c `quantize_row_*_ref`)

    /// `x` truncated toward zero and clamped into `lo...hi` (NaN gives `lo`), as C's
    /// `MIN(hi, (int8_t)x)` does for in-range values, without trapping on any input.
    @inline(__always)
    static func truncatedClamped(_ x: Float, _ lo: Int, _ hi: Int) -> Int {
        guard x.isFinite else { return x == .infinity ? hi : lo }
        return Int(min(max(x, Float(lo)), Float(hi)))
    }

    static func quantizeQ8_0(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ blocks: Int) {
        for b in 0..<blocks {
            let (x, y) = (src + 32 * b, dst + 34 * b)
            var amax: Float = 0
            for j in 0..<32 where abs(x[j]) > amax { amax = abs(x[j]) }
            let d = amax / 127
            let id: Float = d != 0 && d.isFinite ? 1 / d : 0
            storeHalf(d, y, 0)
            for j in 0..<32 {
                let q = Int8(truncatingIfNeeded: truncatedClamped((x[j] * id).rounded(), -127, 127))
                y.storeBytes(of: q, toByteOffset: 2 + j, as: Int8.self)
            }
        }
    }

    static func quantizeQ4_0(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ blocks: Int) {
        for b in 0..<blocks {
            let (x, y) = (src + 32 * b, dst + 18 * b)
            var amax: Float = 0, maxValue: Float = 0
            for j in 0..<32 where abs(x[j]) > amax {
                amax = abs(x[j])
                maxValue = x[j]
            }
            let d = maxValue / -8
            let id: Float = d != 0 && d.isFinite ? 1 / d : 0
            storeHalf(d, y, 0)
            for j in 0..<16 {
                let lo = truncatedClamped(x[j] * id + 8.5, 0, 15)
                let hi = truncatedClamped(x[j + 16] * id + 8.5, 0, 15)
                y.storeBytes(of: UInt8(lo | hi << 4), toByteOffset: 2 + j, as: UInt8.self)
            }
        }
    }

    static func quantizeQ4_1(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ blocks: Int) {
        for b in 0..<blocks {
            let (x, y) = (src + 32 * b, dst + 20 * b)
            var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
            for j in 0..<32 where !x[j].isNaN {
                lo = min(lo, x[j])
                hi = max(hi, x[j])
            }
            if lo > hi { (lo, hi) = (0, 0) }
            let d = (hi - lo) / 15
            let id: Float = d != 0 && d.isFinite ? 1 / d : 0
            storeHalf(d, y, 0)
            storeHalf(lo, y, 2)
            for j in 0..<16 {
                let a = truncatedClamped((x[j] - lo) * id + 0.5, 0, 15)
                let c = truncatedClamped((x[j + 16] - lo) * id + 0.5, 0, 15)
                y.storeBytes(of: UInt8(a | c << 4), toByteOffset: 4 + j, as: UInt8.self)
            }
        }
    }
}
