import CLEXTensor

/// Converts ggml tensor data to Float32 and back, with the exact block layouts of ggml:
///
/// - `Q8_0`: fp16 `d`, 32 × int8 `q`; value = `q · d`.
/// - `Q4_0`: fp16 `d`, 16 bytes; element `j < 16` is the low nibble of byte `j`, element `j + 16`
///   its high nibble; value = `(nibble − 8) · d`.
/// - `Q4_1`: fp16 `d`, fp16 `m`, 16 bytes of nibbles as in Q4_0; value = `nibble · d + m`.
/// - `F32`, `F16`, `BF16`: plain little-endian elements.
///
/// Blocks run along `ne[0]` (the innermost, row-major last dimension). Large tensors are split
/// across cores by blocks. Quantisation follows ggml's reference quantisers
/// (`quantize_row_q8_0_ref` etc.), so files written here dequantise the same in llama.cpp.
public enum GGMLCodec {
    /// The types `dequantize` accepts.
    public static let dequantizableTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1]
    /// The types `quantize` produces.
    public static let quantizableTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1]

    /// Converts `count` elements of `type` at `source` (which must hold
    /// `type.byteCount(elements: count)` bytes) into `destination`.
    /// `count` must be a multiple of `type.blockSize` and `type` dequantisable.
    public static func dequantize(_ type: GGMLType, from source: UnsafeRawPointer, count: Int,
                                  into destination: UnsafeMutablePointer<Float>) {
        precondition(type.isDequantizable, "GGMLCodec.dequantize: type \(type) is not supported")
        precondition(count >= 0 && count % type.blockSize == 0,
                     "GGMLCodec.dequantize: \(count) elements is not a multiple of \(type)'s block of \(type.blockSize)")
        let (bs, bpb) = (type.blockSize, type.bytesPerBlock)
        Parallel.forEachChunk(count / bs, costPerItem: 2 * bs) { range in
            let src = source + range.lowerBound * bpb
            let dst = destination + range.lowerBound * bs
            let n = range.count
            switch type {
            case .f32: UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: 4 * n)
            case .f16: HalfPrecision.f16ToF32(src, dst, count: n)
            case .bf16: HalfPrecision.bf16ToF32(src, dst, count: n)
            case .q8_0: dequantizeQ8_0(src, dst, blocks: n)
            case .q4_0: dequantizeQ4(src, dst, blocks: n, hasMin: false)
            case .q4_1: dequantizeQ4(src, dst, blocks: n, hasMin: true)
            default: preconditionFailure("GGMLCodec.dequantize: type \(type) is not supported")
            }
        }
    }

    /// Converts `count` floats at `source` to `type` at `destination` (which must have room for
    /// `type.byteCount(elements: count)` bytes). `count` must be a multiple of `type.blockSize`.
    /// NaN elements of a quantised block become 0.
    public static func quantize(_ type: GGMLType, from source: UnsafePointer<Float>, count: Int,
                                into destination: UnsafeMutableRawPointer) {
        precondition(quantizableTypes.contains(type), "GGMLCodec.quantize: type \(type) is not supported")
        precondition(count >= 0 && count % type.blockSize == 0,
                     "GGMLCodec.quantize: \(count) elements is not a multiple of \(type)'s block of \(type.blockSize)")
        let (bs, bpb) = (type.blockSize, type.bytesPerBlock)
        Parallel.forEachChunk(count / bs, costPerItem: 4 * bs) { range in
            let src = source + range.lowerBound * bs
            let dst = destination + range.lowerBound * bpb
            let n = range.count
            switch type {
            case .f32: dst.copyMemory(from: src, byteCount: 4 * n)
            case .f16: HalfPrecision.f32ToF16(src, dst, count: n)
            case .bf16: HalfPrecision.f32ToBF16(src, dst, count: n)
            case .q8_0: for b in 0..<n { quantizeQ8_0Block(src + 32 * b, dst + 34 * b) }
            case .q4_0: for b in 0..<n { quantizeQ4_0Block(src + 32 * b, dst + 18 * b) }
            case .q4_1: for b in 0..<n { quantizeQ4_1Block(src + 32 * b, dst + 20 * b) }
            default: preconditionFailure("GGMLCodec.quantize: type \(type) is not supported")
            }
        }
    }

    // MARK: - Dequantisation kernels

    @inline(__always)
    private static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
    }

    private static func dequantizeQ8_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
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

    /// Q4_0 (`hasMin == false`: bias −8·d) and Q4_1 (bias `m`): value = nibble · d + bias.
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

    @inline(__always)
    private static func storeHalf(_ value: Float, _ p: UnsafeMutableRawPointer, _ offset: Int) {
        p.storeBytes(of: Float16(value).bitPattern.littleEndian, toByteOffset: offset, as: UInt16.self)
    }

    /// `x` truncated toward zero and clamped into `lo...hi` (NaN gives `lo`), as C's
    /// `MIN(hi, (int8_t)x)` does for in-range values, without trapping on any input.
    @inline(__always)
    private static func truncatedClamped(_ x: Float, _ lo: Int, _ hi: Int) -> Int {
        guard x.isFinite else { return x == .infinity ? hi : lo }
        return Int(min(max(x, Float(lo)), Float(hi)))
    }

    private static func quantizeQ8_0Block(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
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

    private static func quantizeQ4_0Block(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
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

    private static func quantizeQ4_1Block(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
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
            let b = truncatedClamped((x[j + 16] - lo) * id + 0.5, 0, 15)
            y.storeBytes(of: UInt8(a | b << 4), toByteOffset: 4 + j, as: UInt8.self)
        }
    }
}
