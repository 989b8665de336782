import CLEXTensor
import Foundation
import Testing

/// Tests of `Ops.rope` / `Variable.rope` and the GGUF q/k row permutation.
///
/// Tolerances. Forward: the kernel rounds m·cos φ and m·sin φ to Float (angles in Double, as the
/// reference), then forms a·c − b·s in Float: a few ulp of max(|a|, |b|)·m, so 1e-5 relative plus
/// 1e-5·m absolute (cancellation) is well above rounding and far below a wrong pairing or angle.
/// Gradients go through `GradientCheck` (its doc comment gives the x budget: the op is linear in
/// x, so ε = 1e-2 has no truncation error). For the frequencies the loss is a sum of
/// sin/cos(p·θ): its third derivative in θ carries p³, so the central difference's truncation
/// error relative to the gradient (which carries p) is ≈ (p·ε)²/6. With p ≤ 20 and ε = 1e-3 that is
/// 7e-5, while the Float rounding noise of the probed loss (≈ 6e-8·√n for n ≈ 10⁴ outputs) over
/// 2ε is ≈ 3e-3 absolute against gradients of order p·√(n/r) ≈ 10²: both far below the 1e-2
/// tolerance. (ε = 1e-2 would already give (0.2)²/6 ≈ 7e-3 truncation at p = 20.)
@Suite("rope") struct RoPETests {
    static let layouts: [RotaryLayout] = [.rotateHalf, .interleaved]

    /// θ_j = base^(−2j/r) (the default inv_freq).
    static func defaultFrequencies(rotary: Int, base: Double = 10000) -> Tensor {
        let half = rotary / 2
        return try! Tensor(shape: [half], values: (0..<half).map { Float(pow(base, -2 * Double($0) / Double(rotary))) })
    }

    /// Element pair (index of a, index of b) of pair j in a head.
    static func pair(_ j: Int, half: Int, _ layout: RotaryLayout) -> (Int, Int) {
        layout == .rotateHalf ? (j, j + half) : (2 * j, 2 * j + 1)
    }

    /// Naive per-element RoPE with angles, cos/sin and products in Double.
    static func reference(_ x: Tensor, positions: [Float], frequencies: Tensor, m: Float, layout: RotaryLayout,
                          rotary: Int, floatAngles: Bool = false) -> [Float] {
        let (t, h, d) = (x.shape[x.rank - 3], x.shape[x.rank - 2], x.shape[x.rank - 1])
        let batch = x.count / max(t * h * d, 1)
        let half = rotary / 2
        let xs = x.scalars, fs = frequencies.scalars
        var out = xs
        for b in 0..<batch {
            for tok in 0..<t {
                for head in 0..<h {
                    let base = ((b * t + tok) * h + head) * d
                    for j in 0..<half {
                        let angle = floatAngles ? Double(positions[tok] * fs[j]) : Double(positions[tok]) * Double(fs[j])
                        let (c, s) = (cos(angle) * Double(m), sin(angle) * Double(m))
                        let (ia, ib) = pair(j, half: half, layout)
                        let (a, bb) = (Double(xs[base + ia]), Double(xs[base + ib]))
                        out[base + ia] = Float(a * c - bb * s)
                        out[base + ib] = Float(bb * c + a * s)
                    }
                }
            }
        }
        return out
    }

    /// Dot product in Double of head `h` of token `t` of two [T, H, D] tensors.
    static func dot(_ q: Tensor, _ t: Int, _ h: Int, _ k: Tensor, _ t2: Int, _ h2: Int) -> Double {
        let d = q.shape[2]
        var s = 0.0
        for i in 0..<d { s += Double(q[t, h, i]) * Double(k[t2, h2, i]) }
        return s
    }

    static func norm(_ x: Tensor, _ t: Int, _ h: Int) -> Double { dot(x, t, h, x, t, h).squareRoot() }

    @Test("forward equals a per-element Double reference", arguments: Self.layouts)
    func forward(layout: RotaryLayout) {
        var seed: UInt64 = 1
        for (d, rotaries) in [(2, [2]), (8, [8, 6]), (64, [64, 40, 16]), (80, [32])] {
            for rotary in rotaries {
                for (t, h) in [(1, 1), (3, 3), (17, 1), (65, 3)] {
                    for batch in [nil, 2] as [Int?] {
                        seed += 1
                        let x = randomTensor((batch.map { [$0] } ?? []) + [t, h, d], seed: seed)
                        let freqs = Self.defaultFrequencies(rotary: rotary)
                        let positions = (0..<t).map { Float($0) * 1.37 + 0.25 }
                        let m: Float = 1.25
                        let y = Ops.rope(x, positions: positions, frequencies: freqs, attentionFactor: m,
                                         layout: layout, rotaryDim: rotary)
                        #expect(y.shape == x.shape)
                        let ref = Self.reference(x, positions: positions, frequencies: freqs, m: m, layout: layout,
                                                 rotary: rotary)
                        expectClose(y.scalars, ref, rtol: 1e-5, atol: 1e-5 * m,
                                    "D \(d) r \(rotary) T \(t) H \(h) B \(batch ?? 0)")
                    }
                }
            }
        }
    }

    @Test("large and fractional positions keep full angle precision", arguments: Self.layouts)
    func largePositions(layout: RotaryLayout) {
        let (d, h) = (64, 3)
        let positions: [Float] = [65535.5, 65536, 131071.25, 1_000_000.5, 0.375, 4095.75, 32767.5]
        let x = randomTensor([positions.count, h, d], seed: 31)
        let freqs = Self.defaultFrequencies(rotary: d)
        let y = Ops.rope(x, positions: positions, frequencies: freqs, layout: layout)
        let ref = Self.reference(x, positions: positions, frequencies: freqs, m: 1, layout: layout, rotary: d)
        expectClose(y.scalars, ref, rtol: 1e-5, atol: 1e-5, "large positions")
        // The check can fail: a Float angle (as in HF's float32 tables) is off by far more.
        let floatAngle = Self.reference(x, positions: positions, frequencies: freqs, m: 1, layout: layout,
                                        rotary: d, floatAngles: true)
        let worst = zip(floatAngle, ref).map { abs($0 - $1) }.max() ?? 0
        #expect(worst > 1e-3, "Float angles differ by only \(worst)")
    }

    @Test("cos and sin of the angle are correctly rounded Double values, any quadrant", arguments: [64, 22])
    func unitVector(rotary: Int) {
        // x = (1, 0) in every pair: the rotated pair is (m·cos φ, m·sin φ), the table itself.
        var rng = SeededGenerator(seed: 21)
        let positions: [Float] = [-3.5, -1000.25, 0.5, 1, 2, 3, 7, 65535.5, 1_000_000.5, 12_345_678]
            + (0..<40).map { _ in rng.nextUnitFloat() * 200_000 }
        let freqs = Tensor.randomUniform([rotary / 2], low: 0, high: 1.5, generator: &rng)
        let x = Tensor(zeros: [positions.count, 1, rotary])
        for t in 0..<positions.count { for j in 0..<(rotary / 2) { x[t, 0, j] = 1 } }
        let y = Ops.rope(x, positions: positions, frequencies: freqs, layout: .rotateHalf)
        var bad: [String] = []
        for t in 0..<positions.count {
            for j in 0..<(rotary / 2) {
                let angle = Double(positions[t]) * Double(freqs[j])
                for (got, want) in [(y[t, 0, j], cos(angle)), (y[t, 0, j + rotary / 2], sin(angle))]
                    where abs(Double(got) - want) > Double(Float(want).ulp) * 0.5 + 1e-11 {
                    bad.append("p \(positions[t]) θ \(freqs[j]): \(got) vs \(want)")
                }
            }
        }
        #expect(bad.isEmpty, "\(bad.count) values off: \(bad.prefix(3))")
    }

    @Test("position 0 scales the rotated part by the attention factor, exactly", arguments: Self.layouts)
    func positionZero(layout: RotaryLayout) {
        for (t, rotary) in [(1, 64), (3, 40)] {
            let x = randomTensor([2, t, 3, 64], seed: 41)
            let m: Float = 1.25
            let y = Ops.rope(x, positions: Array(repeating: 0, count: t),
                             frequencies: Self.defaultFrequencies(rotary: rotary),
                             attentionFactor: m, layout: layout, rotaryDim: rotary)
            let (xs, ys) = (x.scalars, y.scalars)
            let bad = xs.indices.filter { ys[$0] != ($0 % 64 < rotary ? xs[$0] * m : xs[$0]) }
            #expect(bad.isEmpty, "T \(t) r \(rotary): \(bad.count) elements differ, first \(bad.first ?? -1)")
        }
    }

    @Test("llama.cpp's q/k row permutation: golden orders and round trip")
    func permutation() throws {
        // reshape(n_head, 2, D/2).swapaxes(1, 2): rows per head become (0, D/2, 1, D/2 + 1, …).
        let w8 = try Tensor(shape: [8, 1], values: (0..<8).map(Float.init))
        #expect(Ops.permuteRowsForInterleavedRotary(weight: w8, heads: 1).scalars == [0, 4, 1, 5, 2, 6, 3, 7])
        #expect(Ops.permuteRowsForInterleavedRotary(weight: w8, heads: 2).scalars == [0, 2, 1, 3, 4, 6, 5, 7])
        #expect(Ops.unpermuteRowsForInterleavedRotary(weight: w8, heads: 1).scalars == [0, 2, 4, 6, 1, 3, 5, 7])
        for (heads, d, e) in [(1, 2, 1), (3, 8, 5), (2, 64, 17), (4, 6, 3)] {
            let w = randomTensor([heads * d, e], seed: UInt64(heads * 100 + d))
            let p = Ops.permuteRowsForInterleavedRotary(weight: w, heads: heads)
            #expect(p.shape == w.shape)
            #expect(p.scalars != w.scalars || d == 2, "\(heads)×\(d): permutation changed nothing")
            #expect(Ops.unpermuteRowsForInterleavedRotary(weight: p, heads: heads).scalars == w.scalars)
            let u = Ops.unpermuteRowsForInterleavedRotary(weight: w, heads: heads)
            #expect(Ops.permuteRowsForInterleavedRotary(weight: u, heads: heads).scalars == w.scalars)
        }
        let bias = randomTensor([3 * 8], seed: 5)
        let pb = Ops.permuteRowsForInterleavedRotary(weight: bias, heads: 3)
        #expect(Ops.unpermuteRowsForInterleavedRotary(weight: pb, heads: 3).scalars == bias.scalars)
    }

    @Test("HF rotate_half and GGUF interleaved (permuted weights) give the same attention scores", arguments: [8, 64])
    func layoutEquivalence(d: Int) {
        let (t, e, heads, kvHeads) = (17, 5, 3, 1)
        let u = randomTensor([t, e], seed: 51)
        let wq = randomTensor([heads * d, e], seed: 52)
        let wk = randomTensor([kvHeads * d, e], seed: 53)
        let positions = (0..<t).map { Float($0) * 3.5 + 0.5 }
        let freqs = Self.defaultFrequencies(rotary: d)
        let m: Float = 1.1
        func project(_ w: Tensor, _ h: Int) -> Tensor { Ops.matmul(u, w, transposeB: true).reshaped([t, h, d]) }
        func rope(_ x: Tensor, _ layout: RotaryLayout) -> Tensor {
            Ops.rope(x, positions: positions, frequencies: freqs, attentionFactor: m, layout: layout)
        }
        let qHF = rope(project(wq, heads), .rotateHalf)
        let kHF = rope(project(wk, kvHeads), .rotateHalf)
        let qGGUF = rope(project(Ops.permuteRowsForInterleavedRotary(weight: wq, heads: heads), heads), .interleaved)
        let kGGUF = rope(project(Ops.permuteRowsForInterleavedRotary(weight: wk, heads: kvHeads), kvHeads), .interleaved)
        // Element-wise: GGUF element 2i + s of a head is HF element s·D/2 + i.
        var permuted = [Float](repeating: 0, count: qHF.count)
        for tok in 0..<t {
            for h in 0..<heads {
                for i in 0..<(d / 2) {
                    for s in 0..<2 { permuted[(tok * heads + h) * d + 2 * i + s] = qHF[tok, h, s * d / 2 + i] }
                }
            }
        }
        expectClose(qGGUF.scalars, permuted, rtol: 1e-5, atol: 1e-5, "rotated q, reordered")
        var worst = 0.0
        for h in 0..<heads {
            for i in 0..<t {
                for j in 0..<t {
                    let kh = h * kvHeads / heads
                    let a = Self.dot(qHF, i, h, kHF, j, kh), b = Self.dot(qGGUF, i, h, kGGUF, j, kh)
                    worst = max(worst, abs(a - b) / (Self.norm(qHF, i, h) * Self.norm(kHF, j, kh)))
                }
            }
        }
        #expect(worst < 1e-5, "scores differ by \(worst) relative to |q||k|")
    }

    @Test("q·k after rotation depends only on the position difference", arguments: Self.layouts)
    func relativePosition(layout: RotaryLayout) {
        let d = 64
        for rotary in [64, 32] {
            let q = randomTensor([1, 1, d], seed: 61), k = randomTensor([1, 1, d], seed: 62)
            let freqs = Self.defaultFrequencies(rotary: rotary)
            let m: Float = 1.2
            func score(_ p: Float, _ p2: Float) -> Double {
                let rq = Ops.rope(q, positions: [p], frequencies: freqs, attentionFactor: m, layout: layout,
                                  rotaryDim: rotary)
                let rk = Ops.rope(k, positions: [p2], frequencies: freqs, attentionFactor: m, layout: layout,
                                  rotaryDim: rotary)
                return Self.dot(rq, 0, 0, rk, 0, 0)
            }
            let scale = Self.norm(q, 0, 0) * Self.norm(k, 0, 0) * Double(m * m)
            for delta: Float in [3, 0.5, 100.25] {
                let base = score(delta, 0)
                var values: [Double] = []
                for p: Float in [10, 1000.5, 65535.5, 131071.75, 1_000_000.5] {
                    let s = score(p, p - delta)
                    values.append(s)
                    #expect(abs(s - base) <= 1e-5 * scale, "r \(rotary) δ \(delta) p \(p): \(s) vs \(base)")
                }
                // And it does depend on the difference (by far more than the tolerance above).
                #expect(abs(score(delta + 1, 0) - base) > 1e-4 * scale)
            }
        }
    }

    @Test("backward to x is the inverse rotation times the attention factor", arguments: Self.layouts)
    func inverseRotation(layout: RotaryLayout) {
        let x = randomTensor([2, 17, 3, 64], seed: 71)
        let positions = (0..<17).map { Float($0) * 977.5 }
        let freqs = Self.defaultFrequencies(rotary: 40)
        for m: Float in [1, 1.5] {
            let y = Ops.rope(x, positions: positions, frequencies: freqs, attentionFactor: m, layout: layout, rotaryDim: 40)
            for need in [false, true] {
                let back = Ops.ropeBackward(x: x, positions: positions, frequencies: freqs, attentionFactor: m,
                                            layout: layout, rotaryDim: 40, gradient: y, needFrequencies: need)
                #expect((back.frequencies != nil) == need)
                let expected = x.scalars.enumerated().map { $0.offset % 64 < 40 ? $0.element * m * m : $0.element }
                expectClose(back.x.scalars, expected, rtol: 1e-5, atol: 1e-5, "m \(m) needFrequencies \(need)")
            }
        }
    }

    @Test("gradients to x and to the frequencies match finite differences", arguments: Self.layouts)
    func gradients(layout: RotaryLayout) {
        var seed: UInt64 = 80
        for (t, h, d, rotary) in [(3, 3, 8, 6), (17, 1, 64, 40), (1, 3, 2, 2), (5, 2, 64, 64)] {
            seed += 2
            let x = randomTensor([2, t, h, d], seed: seed)
            var rng = SeededGenerator(seed: seed + 1)
            let freqs = Tensor.randomUniform([rotary / 2], low: 0.05, high: 1, generator: &rng)
            let positions = (0..<t).map { Float($0) * 19.5 / Float(max(t - 1, 1)) + 0.25 }
            let m: Float = 1.3
            // x alone at the default ε (the frequencies need a smaller ε, see the suite's comment), through
            // both backward kernels: frequencies constant (inverse rotation only) and frequencies a
            // leaf that wants a gradient (the fused kernel), which this check does not probe.
            for fused in [false, true] {
                let xBad = GradientCheck().mismatches([x, freqs], differentiable: [true, false]) { tape, v in
                    v[0].rope(positions: positions, frequencies: fused ? tape.variable(v[1].value) : v[1],
                              attentionFactor: m, layout: layout, rotaryDim: rotary)
                }
                #expect(xBad.isEmpty, "fused \(fused), T \(t) H \(h) D \(d) r \(rotary): \(xBad.prefix(3))")
            }
            var check = GradientCheck()
            check.epsilon = 1e-3
            let fBad = check.mismatches([x, freqs], differentiable: [false, true]) { _, v in
                v[0].rope(positions: positions, frequencies: v[1], attentionFactor: m, layout: layout, rotaryDim: rotary)
            }
            #expect(fBad.isEmpty, "frequencies, T \(t) H \(h) D \(d) r \(rotary): \(fBad.prefix(3))")
        }
    }

    @Test("frequency gradient flows through an upstream op and equals ropeBackward's")
    func chained() {
        let (t, h, d) = (9, 2, 16)
        let x = randomTensor([t, h, d], seed: 91)
        var rng = SeededGenerator(seed: 92)
        let z = Tensor.randomUniform([d / 2], low: 0.2, high: 1, generator: &rng)
        let positions = (0..<t).map { Float($0) * 2.25 }
        var check = GradientCheck()
        check.epsilon = 1e-3
        // θ = z ⊙ z: the rope's frequency gradient must reach z through the product.
        let bad = check.mismatches([x, z]) { _, v in
            v[0].rope(positions: positions, frequencies: v[1] * v[1], attentionFactor: 0.9, layout: .interleaved)
        }
        #expect(bad.isEmpty, "\(bad.prefix(3))")
        // x a constant: only the frequencies need a gradient.
        let frequenciesOnly = check.mismatches([x, z], differentiable: [false, true]) { _, v in
            v[0].rope(positions: positions, frequencies: v[1], layout: .rotateHalf)
        }
        #expect(frequenciesOnly.isEmpty, "\(frequenciesOnly.prefix(3))")

        let tape = Tape()
        let (xv, fv) = (tape.variable(x), tape.variable(z))
        let y = xv.rope(positions: positions, frequencies: fv, attentionFactor: 0.9, layout: .rotateHalf)
        let g = randomTensor([t, h, d], seed: 93)
        tape.backward(y, seed: g)
        let direct = Ops.ropeBackward(x: x, positions: positions, frequencies: z, attentionFactor: 0.9,
                                      layout: .rotateHalf, gradient: g, needFrequencies: true)
        #expect(tape.gradient(xv)?.scalars == direct.x.scalars)
        #expect(tape.gradient(fv)?.scalars == direct.frequencies?.scalars)
    }
}
