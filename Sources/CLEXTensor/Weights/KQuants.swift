/// ggml's k-quants: super-blocks of 256 consecutive elements of a row (`block_q4_K`, `block_q5_K`,
/// `block_q6_K` in ggml-common.h). All fields are little-endian and read unaligned.
///
/// - `Q4_K` (144 bytes): fp16 `d` @0, fp16 `dmin` @2, `scales[12]` @4, `qs[128]` @16. Eight
///   sub-blocks of 32 elements, each with a 6-bit scale `sc` and a 6-bit min `m` packed in
///   `scales` (ggml's `get_scale_min_k4`): for `j < 4`, `sc = scales[j] & 63`,
///   `m = scales[j + 4] & 63`; for `j ≥ 4`, `sc = scales[j + 4] & 15 | (scales[j − 4] >> 6) << 4`,
///   `m = scales[j + 4] >> 4 | (scales[j] >> 6) << 4`. Byte `qs[32c + l]` holds element `64c + l`
///   in its low nibble and element `64c + 32 + l` in its high nibble. Value = `d·sc·q − dmin·m`.
/// - `Q5_K` (176 bytes): `d`, `dmin`, `scales` as Q4_K, `qh[32]` @16, `qs[128]` @48. The nibbles
///   are the low 4 bits as in Q4_K; bit `2c` of `qh[l]` is bit 4 of element `64c + l`, bit
///   `2c + 1` that of element `64c + 32 + l`. Value = `d·sc·q − dmin·m`, `q` in 0…31.
/// - `Q6_K` (210 bytes): `ql[128]` @0, `qh[64]` @128, int8 `scales[16]` @192, fp16 `d` @208. Two
///   halves `h` of 128 elements read `ql[64h…]` and `qh[32h…]`; for `l < 32`, element
///   `128h + 32i + l` (`i` < 4) takes its low 4 bits from the low (`i` = 0, 1) or high (`i` = 2, 3)
///   nibble of `ql[64h + l + 32·(i & 1)]` and its top 2 bits from bits `2i, 2i + 1` of
///   `qh[32h + l]`. Value = `d·scales[e / 16]·(q − 32)`, `q` in 0…63.
///
/// Dequantisation performs ggml's `dequantize_row_q4_K`/`_q5_K`/`_q6_K` Float32 operations in the
/// same order (`(d·sc)·q − dmin·m`; `(d·scale)·(q − 32)`), so it equals ggml bit for bit.
/// Quantisation (ggml's reference quantisers) is in KQuants+Quantize.swift.
enum KQuants {
    /// The eight 6-bit scales and mins of a Q4_K/Q5_K super-block, unpacked from the 12 bytes at `p`.
    @inline(__always)
    static func scalesAndMins(_ p: UnsafeRawPointer) -> (scales: SIMD8<UInt8>, mins: SIMD8<UInt8>) {
        var sc = SIMD8<UInt8>(), m = SIMD8<UInt8>()
        for j in 0..<4 {
            let a = p.load(fromByteOffset: j, as: UInt8.self)
            let b = p.load(fromByteOffset: j + 4, as: UInt8.self)
            let c = p.load(fromByteOffset: j + 8, as: UInt8.self)
            sc[j] = a & 63
            m[j] = b & 63
            sc[j + 4] = c & 15 | (a >> 6) << 4
            m[j + 4] = c >> 4 | (b >> 6) << 4
        }
        return (sc, m)
    }

    /// `blocks` Q4_K super-blocks at `src` as `256 · blocks` floats (ggml's `dequantize_row_q4_K`).
    static func dequantizeQ4K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for b in 0..<blocks {
            let p = src + 144 * b
            let out = UnsafeMutableRawPointer(dst + 256 * b)
            let d = LegacyQuants.half(p, 0), dmin = LegacyQuants.half(p, 2)
            let (sc, m) = scalesAndMins(p + 4)
            for c in 0..<4 {
                let q = p.loadUnaligned(fromByteOffset: 16 + 32 * c, as: SIMD32<UInt8>.self)
                let (d1, m1) = (d * Float(sc[2 * c]), dmin * Float(m[2 * c]))
                let (d2, m2) = (d * Float(sc[2 * c + 1]), dmin * Float(m[2 * c + 1]))
                let (low, high) = (d1 * SIMD32<Float>(q & 0x0F) - m1, d2 * SIMD32<Float>(q &>> 4) - m2)
                out.storeBytes(of: low, toByteOffset: 256 * c, as: SIMD32<Float>.self)
                out.storeBytes(of: high, toByteOffset: 256 * c + 128, as: SIMD32<Float>.self)
            }
        }
    }

    /// `blocks` Q5_K super-blocks at `src` as `256 · blocks` floats (ggml's `dequantize_row_q5_K`).
    static func dequantizeQ5K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for b in 0..<blocks {
            let p = src + 176 * b
            let out = UnsafeMutableRawPointer(dst + 256 * b)
            let d = LegacyQuants.half(p, 0), dmin = LegacyQuants.half(p, 2)
            let (sc, m) = scalesAndMins(p + 4)
            let qh = p.loadUnaligned(fromByteOffset: 16, as: SIMD32<UInt8>.self)
            for c in 0..<4 {
                let q = p.loadUnaligned(fromByteOffset: 48 + 32 * c, as: SIMD32<UInt8>.self)
                let lo = q & 0x0F | (qh &>> UInt8(2 * c) & 1) &<< 4
                let hi = q &>> 4 | (qh &>> UInt8(2 * c + 1) & 1) &<< 4
                let (d1, m1) = (d * Float(sc[2 * c]), dmin * Float(m[2 * c]))
                let (d2, m2) = (d * Float(sc[2 * c + 1]), dmin * Float(m[2 * c + 1]))
                out.storeBytes(of: d1 * SIMD32<Float>(lo) - m1, toByteOffset: 256 * c, as: SIMD32<Float>.self)
                out.storeBytes(of: d2 * SIMD32<Float>(hi) - m2, toByteOffset: 256 * c + 128, as: SIMD32<Float>.self)
            }
        }
    }

    /// `blocks` Q6_K super-blocks at `src` as `256 · blocks` floats (ggml's `dequantize_row_q6_K`).
    static func dequantizeQ6K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for b in 0..<blocks {
            let p = src + 210 * b
            let out = UnsafeMutableRawPointer(dst + 256 * b)
            let d = LegacyQuants.half(p, 208)
            for h in 0..<2 {
                let qh = p.loadUnaligned(fromByteOffset: 128 + 32 * h, as: SIMD32<UInt8>.self)
                for i in 0..<4 {
                    let ql = p.loadUnaligned(fromByteOffset: 64 * h + 32 * (i & 1), as: SIMD32<UInt8>.self)
                    let low = i < 2 ? ql & 0x0F : ql &>> 4
                    let q = SIMD32<Int8>(truncatingIfNeeded: low | (qh &>> UInt8(2 * i) & 3) &<< 4) &- 32
                    let qf = SIMD32<Float>(q)
                    let group = 8 * h + 2 * i
                    let s0 = d * Float(p.load(fromByteOffset: 192 + group, as: Int8.self))
                    let s1 = d * Float(p.load(fromByteOffset: 192 + group + 1, as: Int8.self))
                    let scale = SIMD32<Float>(lowHalf: SIMD16(repeating: s0), highHalf: SIMD16(repeating: s1))
                    out.storeBytes(of: scale * qf, toByteOffset: 512 * h + 128 * i, as: SIMD32<Float>.self)
                }
            }
        }
    }
}
