/// ggml's reference k-quant quantisers (ggml-quants.c: `quantize_row_q4_K_ref`,
/// `quantize_row_q5_K_ref`, `quantize_row_q6_K_ref`, with their scale searches `make_qkx2_quants`
/// and `make_qx_quants`), so that blocks written here are the blocks llama.cpp would write and
/// dequantise to the same values there. The arithmetic is the reference's, step for step, in
/// Float32 without fused multiply-adds (a build of ggml that contracts `a·b + c` into one rounding
/// may rarely settle a tie differently; both results are valid blocks).
///
/// Inputs are never trusted: NaN elements are read as 0 (what ggml's `nearest_int` makes of a
/// NaN), and every float-to-integer step saturates instead of trapping, so ±inf or huge values
/// give some valid block (whose values are then meaningless) and never a crash.
extension KQuants {
    /// ggml's `nearest_int`: round to nearest, ties to even. NaN gives 0 as in ggml; values beyond
    /// its ±4194303 range saturate (ggml's result is unspecified there).
    @inline(__always)
    static func nearestInt(_ x: Float) -> Int {
        guard x.magnitude <= 4_194_303 else { return x.isNaN ? 0 : (x > 0 ? 4_194_303 : -4_194_303) }
        return Int(x.rounded(.toNearestOrEven))
    }

    /// One block's 256 inputs with NaN replaced by 0.
    @inline(__always)
    static func sanitizedBlock(_ x: UnsafePointer<Float>, into buffer: UnsafeMutablePointer<Float>) {
        for i in 0..<256 { buffer[i] = x[i].isNaN ? 0 : x[i] }
    }

    /// ggml's `make_qkx2_quants` with squared error: the scale and min (returned as `−min`, ≥ 0)
    /// of an asymmetric `nmax`-level grid for the `n` values at `x` under `weights`, found by
    /// trying `nstep + 1` grid spacings around `nmax / (max − min)` and refitting scale and min by
    /// weighted least squares for each. The levels are left in `levels`.
    static func searchScaleMin(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ weights: UnsafePointer<Float>,
                               _ levels: UnsafeMutablePointer<UInt8>, _ scratch: UnsafeMutablePointer<UInt8>,
                               rmin: Float, rdelta: Float, nstep: Int) -> (scale: Float, negatedMin: Float) {
        var lo = x[0], hi = x[0]
        var sumW = weights[0]
        var sumX = sumW * x[0]
        for i in 1..<n {
            if x[i] < lo { lo = x[i] }
            if x[i] > hi { hi = x[i] }
            sumW += weights[i]
            sumX += weights[i] * x[i]
        }
        if lo > 0 { lo = 0 }
        if hi == lo {
            for i in 0..<n { levels[i] = 0 }
            return (0, -lo)
        }
        let fnmax = Float(nmax)
        var iscale = fnmax / (hi - lo)
        var scale = 1 / iscale
        var bestError: Float = 0
        for i in 0..<n {
            let l = min(max(nearestInt(iscale * (x[i] - lo)), 0), nmax)
            levels[i] = UInt8(l)
            let diff = scale * Float(l) + lo - x[i]
            bestError += weights[i] * (diff * diff)
        }
        for step in 0...nstep {
            iscale = (rmin + rdelta * Float(step) + fnmax) / (hi - lo)
            var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
            for i in 0..<n {
                let l = min(max(nearestInt(iscale * (x[i] - lo)), 0), nmax)
                scratch[i] = UInt8(l)
                let (w, fl) = (weights[i], Float(l))
                sumL += w * fl
                sumL2 += w * fl * fl
                sumXL += w * fl * x[i]
            }
            let det = sumW * sumL2 - sumL * sumL
            guard det > 0 else { continue }
            var thisScale = (sumW * sumXL - sumX * sumL) / det
            var thisMin = (sumL2 * sumX - sumL * sumXL) / det
            if thisMin > 0 {
                thisMin = 0
                thisScale = sumXL / sumL2
            }
            var error: Float = 0
            for i in 0..<n {
                let diff = thisScale * Float(scratch[i]) + thisMin - x[i]
                error += weights[i] * (diff * diff)
            }
            if error < bestError {
                for i in 0..<n { levels[i] = scratch[i] }
                bestError = error
                scale = thisScale
                lo = thisMin
            }
        }
        return (scale, -lo)
    }

    /// ggml's `make_qx_quants` with `rmse_type` 1 and no importance weights: the scale of a
    /// symmetric grid of levels −nmax…nmax−1 for the `n` values at `x` (weights x²), trying 18
    /// spacings around `nmax / max|x|`. The levels, offset by `nmax`, are left in `levels`.
    static func searchScale(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>,
                            _ levels: UnsafeMutablePointer<UInt8>) -> Float {
        var maxValue: Float = 0, amax: Float = 0
        for i in 0..<n where x[i].magnitude > amax {
            amax = x[i].magnitude
            maxValue = x[i]
        }
        if amax < 1e-15 {  // ggml's GROUP_MAX_EPS
            for i in 0..<n { levels[i] = 0 }
            return 0
        }
        let fnmax = Float(nmax)
        @inline(__always) func level(_ v: Float) -> Int { min(max(nearestInt(v), -nmax), nmax - 1) }
        var iscale = -fnmax / maxValue
        var sumLX: Float = 0, sumL2: Float = 0
        for i in 0..<n {
            let l = level(iscale * x[i])
            levels[i] = UInt8(l + nmax)
            let (w, fl) = (x[i] * x[i], Float(l))
            sumLX += w * x[i] * fl
            sumL2 += w * fl * fl
        }
        var scale = sumL2 != 0 ? sumLX / sumL2 : 0
        var best = scale * sumLX
        for step in -9...9 where step != 0 {
            iscale = -(fnmax + 0.1 * Float(step)) / maxValue
            sumLX = 0
            sumL2 = 0
            for i in 0..<n {
                let (w, fl) = (x[i] * x[i], Float(level(iscale * x[i])))
                sumLX += w * x[i] * fl
                sumL2 += w * fl * fl
            }
            if sumL2 > 0 && sumLX * sumLX > best * sumL2 {
                for i in 0..<n { levels[i] = UInt8(level(iscale * x[i]) + nmax) }
                scale = sumLX / sumL2
                best = scale * sumLX
            }
        }
        return scale
    }

    /// The common part of `quantize_row_q4_K_ref` and `quantize_row_q5_K_ref`: fits each
    /// sub-block of 32 (levels 0…nmax), quantises the eight scales and mins to 6 bits against the
    /// super-block's `d` and `dmin`, writes those (the 16 bytes at `y`) and leaves in `levels`
    /// each element requantised against its sub-block's stored scale and min.
    private static func quantizeScalesAndLevels(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, nmax: Int,
                                                rmin: Float, nstep: Int, levels: UnsafeMutablePointer<UInt8>) {
        var scales = SIMD8<Float>(), mins = SIMD8<Float>()
        var maxScale: Float = 0, maxMin: Float = 0
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { weights in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { scratch in
                for j in 0..<8 {
                    let xj = x + 32 * j
                    var sumX2: Float = 0
                    for l in 0..<32 { sumX2 += xj[l] * xj[l] }
                    let average = (sumX2 / 32).squareRoot()
                    for l in 0..<32 { weights[l] = average + xj[l].magnitude }
                    let fit = searchScaleMin(32, nmax, xj, weights.baseAddress!, levels + 32 * j, scratch.baseAddress!,
                                             rmin: rmin, rdelta: 0.1, nstep: nstep)
                    scales[j] = fit.scale
                    mins[j] = fit.negatedMin
                    if fit.scale > maxScale { maxScale = fit.scale }
                    if fit.negatedMin > maxMin { maxMin = fit.negatedMin }
                }
            }
        }
        let inverseScale: Float = maxScale > 0 ? 63 / maxScale : 0
        let inverseMin: Float = maxMin > 0 ? 63 / maxMin : 0
        var packed = SIMD16<UInt8>()  // 12 used
        for j in 0..<8 {
            // as ggml: the int is narrowed to uint8_t before the MIN with 63
            let ls = min(UInt8(truncatingIfNeeded: nearestInt(inverseScale * scales[j])), 63)
            let lm = min(UInt8(truncatingIfNeeded: nearestInt(inverseMin * mins[j])), 63)
            if j < 4 {
                packed[j] = ls
                packed[j + 4] = lm
            } else {
                packed[j + 4] = ls & 0x0F | (lm & 0x0F) << 4
                packed[j - 4] |= (ls >> 4) << 6
                packed[j] |= (lm >> 4) << 6
            }
        }
        LegacyQuants.storeHalf(maxScale / 63, y, 0)
        LegacyQuants.storeHalf(maxMin / 63, y, 2)
        for i in 0..<12 { y.storeBytes(of: packed[i], toByteOffset: 4 + i, as: UInt8.self) }
        let d = LegacyQuants.half(y, 0), dmin = LegacyQuants.half(y, 2)
        let (sc, m) = scalesAndMins(y + 4)
        for j in 0..<8 {
            let dj = d * Float(sc[j])
            if dj == 0 { continue }
            let mj = dmin * Float(m[j])
            for i in 0..<32 {
                levels[32 * j + i] = UInt8(min(max(nearestInt((x[32 * j + i] + mj) / dj), 0), nmax))
            }
        }
    }

    /// `256 · blocks` floats at `src` as `blocks` Q4_K super-blocks (ggml's `quantize_row_q4_K_ref`).
    static func quantizeQ4K(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ blocks: Int) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 256) { buffer in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { levels in
                let (x, l) = (buffer.baseAddress!, levels.baseAddress!)
                for b in 0..<blocks {
                    let y = dst + 144 * b
                    sanitizedBlock(src + 256 * b, into: x)
                    quantizeScalesAndLevels(x, y, nmax: 15, rmin: -1, nstep: 20, levels: l)
                    for c in 0..<4 {
                        for i in 0..<32 {
                            y.storeBytes(of: l[64 * c + i] | l[64 * c + 32 + i] << 4, toByteOffset: 16 + 32 * c + i,
                                         as: UInt8.self)
                        }
                    }
                }
            }
        }
    }

    /// `256 · blocks` floats at `src` as `blocks` Q5_K super-blocks (ggml's `quantize_row_q5_K_ref`).
    static func quantizeQ5K(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ blocks: Int) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 256) { buffer in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { levels in
                let (x, l) = (buffer.baseAddress!, levels.baseAddress!)
                for b in 0..<blocks {
                    let y = dst + 176 * b
                    sanitizedBlock(src + 256 * b, into: x)
                    quantizeScalesAndLevels(x, y, nmax: 31, rmin: -0.5, nstep: 15, levels: l)
                    for i in 0..<32 {
                        var high: UInt8 = 0
                        for c in 0..<4 {
                            let (a, e) = (l[64 * c + i], l[64 * c + 32 + i])
                            high |= (a >> 4) << (2 * c) | (e >> 4) << (2 * c + 1)
                            y.storeBytes(of: a & 0x0F | (e & 0x0F) << 4, toByteOffset: 48 + 32 * c + i, as: UInt8.self)
                        }
                        y.storeBytes(of: high, toByteOffset: 16 + i, as: UInt8.self)
                    }
                }
            }
        }
    }

    /// `256 · blocks` floats at `src` as `blocks` Q6_K super-blocks (ggml's `quantize_row_q6_K_ref`).
    static func quantizeQ6K(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ blocks: Int) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 256) { buffer in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { levels in
                let (x, l) = (buffer.baseAddress!, levels.baseAddress!)
                for b in 0..<blocks {
                    let y = dst + 210 * b
                    sanitizedBlock(src + 256 * b, into: x)
                    var scales = SIMD16<Float>()
                    var maxScale: Float = 0, maxAbsScale: Float = 0
                    for g in 0..<16 {
                        scales[g] = searchScale(16, 32, x + 16 * g, l + 16 * g)
                        if scales[g].magnitude > maxAbsScale {
                            maxAbsScale = scales[g].magnitude
                            maxScale = scales[g]
                        }
                    }
                    if maxAbsScale < 1e-15 {  // ggml's GROUP_MAX_EPS: an all-zero block
                        y.initializeMemory(as: UInt8.self, repeating: 0, count: 210)
                        continue
                    }
                    let iscale = -128 / maxScale
                    LegacyQuants.storeHalf(1 / iscale, y, 208)
                    for g in 0..<16 {
                        let s = Int8(truncatingIfNeeded: min(nearestInt(iscale * scales[g]), 127))
                        y.storeBytes(of: s, toByteOffset: 192 + g, as: Int8.self)
                    }
                    let d = LegacyQuants.half(y, 208)
                    for g in 0..<16 {
                        let dg = d * Float(y.load(fromByteOffset: 192 + g, as: Int8.self))
                        if dg == 0 { continue }
                        for i in 0..<16 {
                            l[16 * g + i] = UInt8(min(max(nearestInt(x[16 * g + i] / dg), -32), 31) + 32)
                        }
                    }
                    for h in 0..<2 {
                        for i in 0..<32 {
                            let e = 128 * h + i
                            let (q0, q1, q2, q3) = (l[e], l[e + 32], l[e + 64], l[e + 96])
                            let (low, high) = (64 * h + i, 64 * h + 32 + i)
                            y.storeBytes(of: q0 & 0x0F | (q2 & 0x0F) << 4, toByteOffset: low, as: UInt8.self)
                            y.storeBytes(of: q1 & 0x0F | (q3 & 0x0F) << 4, toByteOffset: high, as: UInt8.self)
                            y.storeBytes(of: q0 >> 4 | (q1 >> 4) << 2 | (q2 >> 4) << 4 | (q3 >> 4) << 6,
                                         toByteOffset: 128 + 32 * h + i, as: UInt8.self)
                        }
                    }
                }
            }
        }
    }
}
