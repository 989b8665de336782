import CLEXTensor
import Foundation
import Testing

/// Blocked attention against `NaiveAttention` (every score formed, softmax in Double).
///
/// Forward tolerance 1e-5 relative + 1e-6 absolute: the kernel's Float32 error is a few ulp of
/// the scores (GEMM over D) and of the exp (FastMath, 2 ulp) plus Float sums over at most
/// 1024 keys; outputs are O(0.1–1), so this is ~100 ulp of slack while a wrong mask, bias or
/// rescale is off by ≥ 1e-3. Backward against the analytic Double gradient: 1e-4 relative
/// + 1e-5 absolute — each gradient element sums products over up to 333 keys and 3 query heads
/// in Float, so its rounding error is ~1e-6 of its scale; a wrong δ or a missing GQA head is
/// off by O(1). Small shapes go through `GradientCheck` (its tolerance is justified there).
/// Shapes straddle the tile sizes (forward 128×256, backward 128×128): 1, 7, 64, 333, 1024.
@Suite("attention") struct AttentionTests {
    static let headDim = 16

    /// Random q [B, T, Hq, D], k and v [B, S, Hkv, D].
    static func inputs(batch: Int, queries: Int, keys: Int, queryHeads: Int, kvHeads: Int,
                       headDim: Int = headDim, seed: UInt64) -> (Tensor, Tensor, Tensor) {
        (randomTensor([batch, queries, queryHeads, headDim], seed: seed),
         randomTensor([batch, keys, kvHeads, headDim], seed: seed + 1),
         randomTensor([batch, keys, kvHeads, headDim], seed: seed + 2))
    }

    @Test("forward equals the naive reference (T = S, grouped heads, ALiBi on/off)",
          arguments: [1, 7, 64, 333, 1024])
    func forward(length: Int) {
        let batch = length <= 333 ? 2 : 1
        for (hq, hkv) in [(2, 2), (6, 2)] {
            for alibi in [false, true] {
                let (q, k, v) = Self.inputs(batch: batch, queries: length, keys: length, queryHeads: hq, kvHeads: hkv,
                                            seed: UInt64(length * 10 + hq))
                let options = AttentionOptions(alibiSlopes: alibi ? Ops.alibiSlopes(heads: hq) : nil)
                let (out, lse) = Ops.attentionWithStats(q, k, v, options: options)
                let naive = NaiveAttention(q, k, v, options: options).forward()
                #expect(out.shape == q.shape)
                #expect(lse.shape == [batch, hq, length])
                let what = "L=\(length) heads \(hq)/\(hkv) alibi \(alibi)"
                expectClose(out.scalars, naive.output.map(Float.init), rtol: 1e-5, atol: 1e-6, what)
                expectClose(lse.scalars, naive.logSumExp.map(Float.init), rtol: 1e-5, atol: 1e-6, what + " lse")
                expectClose(Ops.attention(q, k, v, options: options).scalars, out.scalars, rtol: 0, atol: 0,
                            what + " inference path")
            }
        }
    }

    @Test("fractional ALiBi positions and an explicit scale", arguments: [7, 333])
    func fractionalPositions(length: Int) {
        let (q, k, v) = Self.inputs(batch: 2, queries: length, keys: length, queryHeads: 6, kvHeads: 3, seed: 5)
        let options = AttentionOptions(scale: 0.3, alibiSlopes: Ops.alibiSlopes(heads: 6),
                                       queryPositions: (0..<length).map { 0.37 * Float($0) + 0.25 },
                                       keyPositions: (0..<length).map { 0.37 * Float($0) })
        let out = Ops.attention(q, k, v, options: options)
        expectClose(out.scalars, NaiveAttention(q, k, v, options: options).forward().output.map(Float.init),
                    rtol: 1e-5, atol: 1e-6, "L=\(length)")
        // The positions must matter: the same call with default positions differs.
        let plain = Ops.attention(q, k, v, options: AttentionOptions(scale: 0.3, alibiSlopes: Ops.alibiSlopes(heads: 6)))
        #expect(zip(out.scalars, plain.scalars).contains { abs($0 - $1) > 1e-3 })
    }

    @Test("decode: T new queries after S − T cached keys equal the last T rows of full attention",
          arguments: [1, 5])
    func decode(newQueries: Int) {
        let (s, hq, hkv, d) = (333, 6, 2, Self.headDim)
        let (q, k, v) = Self.inputs(batch: 2, queries: s, keys: s, queryHeads: hq, kvHeads: hkv, seed: 9)
        // The last T query rows of each batch entry, as their own tensor.
        let tail = Tensor(zeros: [2, newQueries, hq, d])
        for b in 0..<2 {
            tail.pointer.advanced(by: b * newQueries * hq * d)
                .update(from: q.pointer + (b * s + s - newQueries) * hq * d, count: newQueries * hq * d)
        }
        for alibi in [false, true] {
            let options = AttentionOptions(alibiSlopes: alibi ? Ops.alibiSlopes(heads: hq) : nil)
            let full = Ops.attention(q, k, v, options: options).scalars
            var expected: [Float] = []
            for b in 0..<2 {
                let first = (b * s + s - newQueries) * hq * d
                expected += full[first..<(first + newQueries * hq * d)]
            }
            let decoded = Ops.attention(tail, k, v, options: options)
            #expect(decoded.shape == [2, newQueries, hq, d])
            expectClose(decoded.scalars, expected, rtol: 1e-5, atol: 1e-6, "T=\(newQueries) alibi \(alibi)")
            expectClose(decoded.scalars, NaiveAttention(tail, k, v, options: options).forward().output.map(Float.init),
                        rtol: 1e-5, atol: 1e-6, "T=\(newQueries) alibi \(alibi) naive")
        }
    }

    /// Non-causal options, with ALiBi on explicit positions 1/20 of the defaults. (Unscaled, a
    /// query 332 positions from every key gets logits near 0.5·332 = 166, whose Float32
    /// rounding, 8e-6 absolute, alone moves the output by ~1e-5 relative in any Float32
    /// implementation; the reference is Double.)
    static func nonCausalOptions(queries: Int, keys: Int, heads: Int, alibi: Bool) -> AttentionOptions {
        guard alibi else { return AttentionOptions(causal: false) }
        return AttentionOptions(causal: false, alibiSlopes: Ops.alibiSlopes(heads: heads),
                                queryPositions: (0..<queries).map { 0.05 * Float($0 + keys - queries) },
                                keyPositions: (0..<keys).map { 0.05 * Float($0) })
    }

    @Test("non-causal attention, T ≠ S", arguments: [(7, 333), (333, 7), (64, 64)])
    func nonCausal(queries: Int, keys: Int) {
        let (q, k, v) = Self.inputs(batch: 2, queries: queries, keys: keys, queryHeads: 4, kvHeads: 2, seed: 13)
        for alibi in [false, true] {
            let options = Self.nonCausalOptions(queries: queries, keys: keys, heads: 4, alibi: alibi)
            let naive = NaiveAttention(q, k, v, options: options)
            expectClose(Ops.attention(q, k, v, options: options).scalars, naive.forward().output.map(Float.init),
                        rtol: 1e-5, atol: 1e-6, "T=\(queries) S=\(keys) alibi \(alibi)")
        }
    }

    @Test("3-D inputs are batch 1 and keep their rank")
    func rankThree() {
        let (q, k, v) = Self.inputs(batch: 1, queries: 65, keys: 65, queryHeads: 4, kvHeads: 1, seed: 17)
        let (q3, k3, v3) = (q.reshaped([65, 4, 16]), k.reshaped([65, 1, 16]), v.reshaped([65, 1, 16]))
        let (out3, lse3) = Ops.attentionWithStats(q3, k3, v3)
        let (out4, lse4) = Ops.attentionWithStats(q, k, v)
        #expect(out3.shape == [65, 4, 16])
        #expect(lse3.shape == [4, 65])
        expectClose(out3.scalars, out4.scalars, rtol: 0, atol: 0, "output")
        expectClose(lse3.scalars, lse4.scalars, rtol: 0, atol: 0, "lse")
        let g = randomTensor(out3.shape, seed: 18)
        let grads3 = Ops.attentionBackward(q: q3, k: k3, v: v3, output: out3, logSumExp: lse3, gradient: g)
        #expect(grads3.q.shape == q3.shape && grads3.k.shape == k3.shape && grads3.v.shape == v3.shape)
        let grads4 = Ops.attentionBackward(q: q, k: k, v: v, output: out4, logSumExp: lse4,
                                           gradient: g.reshaped(out4.shape))
        expectClose(grads3.k.scalars, grads4.k.scalars, rtol: 0, atol: 0, "dK")
    }

    @Test("ALiBi slopes: 8 heads are 2^-1 … 2^-8")
    func slopesPowerOfTwo() {
        #expect(Ops.alibiSlopes(heads: 8) == [0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625])
        #expect(Ops.alibiSlopes(heads: 1) == [0.00390625])
    }

    /// Press et al.'s `get_slopes`, transcribed independently: geometric sequences starting at
    /// 2^(−2^−(log2 n − 3)), and for non-powers of two every other slope of the next power.
    static func referenceSlopes(_ n: Int) -> [Double] {
        func powerOfTwo(_ n: Int) -> [Double] {
            let start = pow(2.0, -pow(2.0, -(log2(Double(n)) - 3)))
            return (0..<n).map { start * pow(start, Double($0)) }
        }
        if log2(Double(n)).rounded() == log2(Double(n)) { return powerOfTwo(n) }
        let closest = Int(pow(2.0, floor(log2(Double(n)))))
        let extra = referenceSlopes(2 * closest).enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        return powerOfTwo(closest) + extra.prefix(n - closest)
    }

    @Test("ALiBi slopes for non-powers of two follow the reference construction", arguments: [3, 6, 9, 12, 40])
    func slopesInterleaved(heads: Int) {
        let slopes = Ops.alibiSlopes(heads: heads)
        let expected = Self.referenceSlopes(heads).map(Float.init)
        expectClose(slopes, expected, rtol: 1e-6, atol: 0, "H=\(heads)")
        if heads == 12 {
            let golden: [Double] = [0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625,
                                    0.7071067811865476, 0.35355339059327373, 0.17677669529663687,
                                    0.08838834764831843]
            expectClose(slopes, golden.map(Float.init), rtol: 1e-7, atol: 0, "golden 12")
        }
    }

    @Test("gradients match finite differences", arguments: [1, 3, 17])
    func gradients(length: Int) {
        for (hq, hkv) in [(2, 2), (4, 2)] {
            for alibi in [false, true] {
                let (q, k, v) = Self.inputs(batch: 2, queries: length, keys: length, queryHeads: hq, kvHeads: hkv,
                                            headDim: 8, seed: UInt64(length + hq))
                let options = AttentionOptions(alibiSlopes: alibi ? Ops.alibiSlopes(heads: hq) : nil)
                // With one key the softmax is constantly 1: dQ = dK = 0 exactly, and a finite
                // difference has nothing to compare (the kernel's ~1e-7 rounding is the whole value).
                let wanted = length == 1 ? [false, false, true] : [true, true, true]
                let bad = GradientCheck().mismatches([q, k, v], differentiable: wanted) { _, x in
                    x[0].attention(keys: x[1], values: x[2], options: options)
                }
                #expect(bad.isEmpty, "L=\(length) heads \(hq)/\(hkv) alibi \(alibi): \(bad.prefix(3))")
                if length == 1 {
                    let (out, lse) = Ops.attentionWithStats(q, k, v, options: options)
                    // Each query head copies the value row of its kv head.
                    let d = 8
                    let expected = (0..<out.count).map { n in
                        v.pointer[(n / (hq * d) * hkv + n / d % hq / (hq / hkv)) * d + n % d]
                    }
                    expectClose(out.scalars, expected, rtol: 1e-6, atol: 1e-6, "one key: output = v")
                    let grads = Ops.attentionBackward(q: q, k: k, v: v, output: out, logSumExp: lse,
                                                      gradient: randomTensor(out.shape, seed: 3), options: options)
                    expectClose(grads.q.scalars + grads.k.scalars, [Float](repeating: 0, count: q.count + k.count),
                                rtol: 0, atol: 1e-6, "one key: dQ = dK = 0")
                }
            }
        }
    }

    @Test("gradients match finite differences: decode and non-causal, single input needing grad")
    func gradientsOtherMasks() {
        let (q, k, v) = Self.inputs(batch: 1, queries: 3, keys: 17, queryHeads: 4, kvHeads: 1, headDim: 8, seed: 21)
        for options in [AttentionOptions(), AttentionOptions(causal: false, alibiSlopes: Ops.alibiSlopes(heads: 4))] {
            let bad = GradientCheck().mismatches([q, k, v]) { _, x in
                x[0].attention(keys: x[1], values: x[2], options: options)
            }
            #expect(bad.isEmpty, "causal \(options.causal): \(bad.prefix(3))")
            for only in 0..<3 {
                let wanted = (0..<3).map { $0 == only }
                let badOne = GradientCheck().mismatches([q, k, v], differentiable: wanted) { _, x in
                    x[0].attention(keys: x[1], values: x[2], options: options)
                }
                #expect(badOne.isEmpty, "only input \(only): \(badOne.prefix(3))")
            }
        }
    }

    @Test("backward equals the analytic Double backward at S = 333 (T = 333, 200, 5)")
    func backwardLong() {
        // T = 200 < S = 333: a chunk of new queries after cached keys (causal) and a rectangular
        // non-causal grid — tile wavefronts on both sides of the diagonal.
        let cases: [(queries: Int, alibi: Bool, causal: Bool)] = [(333, false, true), (333, true, true),
                                                                 (5, true, true), (200, true, true),
                                                                 (333, true, false), (200, false, false)]
        for (t, alibi, causal) in cases {
            let (q, k, v) = Self.inputs(batch: 2, queries: t, keys: 333, queryHeads: 6, kvHeads: 2, seed: 31)
            let options = causal ? AttentionOptions(alibiSlopes: alibi ? Ops.alibiSlopes(heads: 6) : nil)
                                 : Self.nonCausalOptions(queries: t, keys: 333, heads: 6, alibi: alibi)
            let (out, lse) = Ops.attentionWithStats(q, k, v, options: options)
            let g = randomTensor(out.shape, seed: 32)
            let grads = Ops.attentionBackward(q: q, k: k, v: v, output: out, logSumExp: lse, gradient: g,
                                              options: options)
            let naive = NaiveAttention(q, k, v, options: options).backward(g)
            let what = "T=\(t) alibi \(alibi) causal \(causal)"
            expectClose(grads.q.scalars, naive.q.map(Float.init), rtol: 1e-4, atol: 1e-5, what + " dQ")
            expectClose(grads.k.scalars, naive.k.map(Float.init), rtol: 1e-4, atol: 1e-5, what + " dK")
            expectClose(grads.v.scalars, naive.v.map(Float.init), rtol: 1e-4, atol: 1e-5, what + " dV")
            // Every gradient row receives its tiles in a fixed order: bitwise reproducible.
            let again = Ops.attentionBackward(q: q, k: k, v: v, output: out, logSumExp: lse, gradient: g,
                                              options: options)
            #expect(again.q.scalars == grads.q.scalars && again.k.scalars == grads.k.scalars
                    && again.v.scalars == grads.v.scalars, "\(what): not deterministic")
        }
    }

    @Test("a sliding window equals the naive reference, forward and backward, across tiles (S = 333, 1024; T = S, 200, 5)")
    func slidingWindow() {
        for (keys, queries, window) in [(333, 333, 1), (333, 333, 17), (333, 200, 100), (333, 5, 129), (1024, 1024, 256),
                                        (1024, 300, 300), (333, 333, 400)] {
            for alibi in [false, true] {
                let (q, k, v) = Self.inputs(batch: 2, queries: queries, keys: keys, queryHeads: 6, kvHeads: 2, seed: 41)
                let options = AttentionOptions(alibiSlopes: alibi ? Ops.alibiSlopes(heads: 6) : nil, window: window)
                let what = "S=\(keys) T=\(queries) window \(window) alibi \(alibi)"
                let (out, lse) = Ops.attentionWithStats(q, k, v, options: options)
                let naive = NaiveAttention(q, k, v, options: options)
                let reference = naive.forward()
                expectClose(out.scalars, reference.output.map(Float.init), rtol: 1e-5, atol: 1e-6, what)
                expectClose(lse.scalars, reference.logSumExp.map(Float.init), rtol: 1e-5, atol: 1e-6, what + " lse")
                guard keys == 333 else { continue }
                let g = randomTensor(out.shape, seed: 42)
                let grads = Ops.attentionBackward(q: q, k: k, v: v, output: out, logSumExp: lse, gradient: g, options: options)
                let expected = naive.backward(g)
                expectClose(grads.q.scalars, expected.q.map(Float.init), rtol: 1e-4, atol: 1e-5, what + " dQ")
                expectClose(grads.k.scalars, expected.k.map(Float.init), rtol: 1e-4, atol: 1e-5, what + " dK")
                expectClose(grads.v.scalars, expected.v.map(Float.init), rtol: 1e-4, atol: 1e-5, what + " dV")
            }
        }
        // A window as wide as the context is full causal attention, bit for bit.
        let (q, k, v) = Self.inputs(batch: 1, queries: 64, keys: 64, queryHeads: 2, kvHeads: 2, seed: 43)
        #expect(Ops.attention(q, k, v, options: AttentionOptions(window: 64)).scalars == Ops.attention(q, k, v).scalars)
    }

    @Test("sliding-window gradients match finite differences")
    func slidingWindowGradients() {
        let (q, k, v) = Self.inputs(batch: 2, queries: 17, keys: 17, queryHeads: 4, kvHeads: 2, headDim: 8, seed: 44)
        for window in [1, 3, 16] {
            let options = AttentionOptions(window: window)
            // With a window of 1 each query sees only itself: dQ = dK = 0, nothing to compare.
            let wanted = window == 1 ? [false, false, true] : [true, true, true]
            let bad = GradientCheck().mismatches([q, k, v], differentiable: wanted) { _, x in
                x[0].attention(keys: x[1], values: x[2], options: options)
            }
            #expect(bad.isEmpty, "window \(window): \(bad.prefix(3))")
        }
    }
}
