import CLEXFormats

/// Dot products of quantised weight rows (`QuantizedMatrix`, blocks in groups of four) with
/// Float32 activations, dequantising in registers.
///
/// Widening int8 or nibbles to Float with the stdlib's generic SIMD conversions compiles to an
/// out-of-line call per vector inside these loops, so the kernels widen with bit operations
/// only: a group's quants are loaded as 16 UInt32 lanes (4 or 8 quants per lane); a shift and a
/// mask leave one quant q ≤ 255 in each lane, OR-ing in the exponent of 2²³ makes the Float
/// 2²³ + q, and subtracting 2²³ (plus 8 for Q4_0's nibble − 8, 128 for Q8_0's bias-flipped int8)
/// leaves the quant's value exactly. Lane l of the k-th such vector holds an element whose index
/// is not l, so the activations are permuted once per input vector (`QuantizedInput`) to match.
///
/// Per group of four blocks (128 weights), lanes hold block g's quants in lanes 4g..<4g+4 (Q4) or
/// blocks 2p+g's in lanes 8g..<8g+8 of half p (Q8_0), so the block scales multiply a vector of
/// per-block partial sums (one FMA per vector with d spread over the lanes). Q4_1's minimum adds
/// m_b · Σ_j x_bj, with the per-block sums of x computed once per input vector.
///
/// Nothing is rounded beyond what the Float32 GEMV over the dequantised matrix does: the quants'
/// values and q·d are exact in Float32, only the grouping of the sums differs. (Lanes are 32-bit
/// little-endian words, as on every target Swift builds this for.)
///
/// Measured on one thread of the 2-core Zen 4 VM (while loaded by other work): ~14 cycles per
/// group of 128 Q4_1 weights, 25–30 µs for a [1536, 576] Q4_1 matrix against 160–200 µs for the
/// Float32 GEMV of the same matrix — arithmetic, not memory, is now the limit (~16 GB/s of blocks
/// per thread). One vector chain per group: splitting it in two made LLVM scalarise the loop.
enum QuantizedKernels {
    typealias Vector = SIMD16<Float>
    typealias Words = SIMD16<UInt32>

    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
    }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    /// The four fp16 values at p as Floats.
    @inline(__always) static func halves(_ p: UnsafeRawPointer) -> SIMD4<Float> {
        SIMD4(half(p, 0), half(p, 2), half(p, 4), half(p, 6))
    }

    /// Each lane's low bits (w < 2²³) as a Float, minus `offset`: exact.
    @inline(__always) static func widen(_ w: Words, minus offset: Float) -> Vector {
        unsafeBitCast(w | 0x4B00_0000, to: Vector.self) - Vector(repeating: offset)
    }

    // MARK: - Activation layouts

    /// Where element e of a 128-element group sits in the Q4 order: nibble h (bits 4h..<4h+4) of
    /// lane 4g + i is element 4i + h/2 (+16 for a high nibble) of block g, and goes to position
    /// 16h + 4g + i.
    static let q4Order: [Int] = {
        var order = [Int](repeating: 0, count: 128)
        for h in 0..<8 { for g in 0..<4 { for i in 0..<4 { order[16 * h + 4 * g + i] = 32 * g + 4 * i + h / 2 + 16 * (h & 1) } } }
        return order
    }()

    /// The Q8_0 order: in half p (blocks 2p, 2p+1), byte k of lane 8g + i is element 4i + k of
    /// block 2p + g and goes to position 64p + 16k + 8g + i.
    static let q8Order: [Int] = {
        var order = [Int](repeating: 0, count: 128)
        for p in 0..<2 { for k in 0..<4 { for g in 0..<2 { for i in 0..<8 { order[64 * p + 16 * k + 8 * g + i] = 32 * (2 * p + g) + 4 * i + k } } } }
        return order
    }()

    /// x [k] rearranged group by group in `order` into out [groups · 128], the missing blocks of
    /// the last group as zeros.
    static func permute(_ x: UnsafePointer<Float>, k: Int, order: [Int], into out: UnsafeMutablePointer<Float>) {
        let groups = (k + 127) / 128
        order.withUnsafeBufferPointer { order in
            for c in 0..<groups {
                let (src, dst, n) = (x + 128 * c, out + 128 * c, min(128, k - 128 * c))
                for j in 0..<128 {
                    let e = order[j]
                    dst[j] = e < n ? src[e] : 0
                }
            }
        }
    }

    /// sums[b] = Σ_{j<32} x[32b + j], zero-padded to whole groups of four blocks.
    static func blockSums(_ x: UnsafePointer<Float>, k: Int, into sums: UnsafeMutablePointer<Float>) {
        let blocks = k / 32
        for b in 0..<blocks { sums[b] = (load(x + 32 * b) + load(x + 32 * b + 16)).sum() }
        for b in blocks..<(4 * ((blocks + 3) / 4)) { sums[b] = 0 }
    }

    // MARK: - Group dot products

    /// The eight nibble vectors of a Q4 group (lanes w) times the permuted activations x: the
    /// per-lane partial sums Σ_h (nibble_h − offset) · x_h.
    @inline(__always) static func nibbles(_ w: Words, _ x: UnsafePointer<Float>, minus offset: Float) -> Vector {
        var s = widen(w & 0xF, minus: offset) * load(x)
        s.addProduct(widen((w &>> 4) & 0xF, minus: offset), load(x + 16))
        s.addProduct(widen((w &>> 8) & 0xF, minus: offset), load(x + 32))
        s.addProduct(widen((w &>> 12) & 0xF, minus: offset), load(x + 48))
        s.addProduct(widen((w &>> 16) & 0xF, minus: offset), load(x + 64))
        s.addProduct(widen((w &>> 20) & 0xF, minus: offset), load(x + 80))
        s.addProduct(widen((w &>> 24) & 0xF, minus: offset), load(x + 96))
        s.addProduct(widen(w &>> 28, minus: offset), load(x + 112))
        return s
    }

    /// The four int8 vectors of half a Q8_0 group (lanes w) times the permuted activations x.
    /// Flipping each byte's top bit maps int8 q to q + 128 ∈ 0...255.
    @inline(__always) static func bytes(_ w: Words, _ x: UnsafePointer<Float>) -> Vector {
        let u = w ^ 0x8080_8080
        var s = widen(u & 0xFF, minus: 8_388_736) * load(x)
        s.addProduct(widen((u &>> 8) & 0xFF, minus: 8_388_736), load(x + 16))
        s.addProduct(widen((u &>> 16) & 0xFF, minus: 8_388_736), load(x + 32))
        s.addProduct(widen(u &>> 24, minus: 8_388_736), load(x + 48))
        return s
    }

    /// d0…d3 spread over the lanes of a Q4 group (lanes 4g..<4g+4 get d_g).
    @inline(__always) static func spread4(_ d: SIMD4<Float>) -> Vector {
        Vector(lowHalf: SIMD8(lowHalf: SIMD4(repeating: d[0]), highHalf: SIMD4(repeating: d[1])),
               highHalf: SIMD8(lowHalf: SIMD4(repeating: d[2]), highHalf: SIMD4(repeating: d[3])))
    }

    /// `count` (< 4) fp16 values at p as Floats, zeros after: the scales of a partial group.
    @inline(__always) static func partialHalves(_ p: UnsafeRawPointer, count: Int) -> SIMD4<Float> {
        var d = SIMD4<Float>()
        for g in 0..<count { d[g] = half(p, 2 * g) }
        return d
    }

    // A row's last group may hold n < 4 blocks. Its quants are still loaded 64 bytes at a time:
    // the lanes past its n blocks read whatever follows (the next row, or the slack after the
    // last row that `QuantizedMatrix` allocates), always a finite value once widened, and they
    // meet zero activations (`permute` pads with zeros) and zero scales, so they add nothing.

    /// One Q4_0 or Q4_1 row · x, unreduced (the lanes sum to it): `x` in the Q4 order, `sums` the
    /// block sums of x (Q4_1 only). Group layout: d ×n, m ×n (Q4_1), then the n blocks' 16 bytes
    /// of nibbles.
    @inline(__always)
    static func dotQ4(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>?,
                      blocks: Int, hasMin: Bool) -> Vector {
        let groupBytes = hasMin ? 80 : 72
        let offset: Float = hasMin ? 8_388_608 : 8_388_616
        var acc = Vector(), minimum = SIMD4<Float>()
        @inline(__always) func group(_ c: Int, _ n: Int, _ d: SIMD4<Float>, _ m: SIMD4<Float>) {
            let p = row + groupBytes &* c
            let w = p.loadUnaligned(fromByteOffset: hasMin ? 4 &* n : 2 &* n, as: Words.self)
            acc.addProduct(nibbles(w, x + 128 &* c, minus: offset), spread4(d))
            if hasMin { minimum.addProduct(m, UnsafeRawPointer(sums! + 4 &* c).loadUnaligned(as: SIMD4<Float>.self)) }
        }
        let full = blocks / 4
        for c in 0..<full {
            let p = row + groupBytes &* c
            group(c, 4, halves(p), hasMin ? halves(p + 8) : SIMD4())
        }
        let n = blocks - 4 * full
        if n > 0 {
            let p = row + groupBytes &* full
            group(full, n, partialHalves(p, count: n), hasMin ? partialHalves(p + 2 * n, count: n) : SIMD4())
        }
        return acc + Vector(lowHalf: SIMD8(lowHalf: minimum, highHalf: SIMD4()), highHalf: SIMD8())
    }

    /// One Q8_0 row · x, unreduced (`x` in the Q8 order). Group layout: d ×n, then the n
    /// blocks' 32 int8.
    @inline(__always)
    static func dotQ8_0(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, blocks: Int) -> Vector {
        var (a0, a1) = (Vector(), Vector())
        @inline(__always) func group(_ c: Int, _ n: Int, _ d: SIMD4<Float>) {
            let p = row + 136 &* c
            let xc = x + 128 &* c
            a0.addProduct(bytes(p.loadUnaligned(fromByteOffset: 2 &* n, as: Words.self), xc),
                          Vector(lowHalf: SIMD8(repeating: d[0]), highHalf: SIMD8(repeating: d[1])))
            a1.addProduct(bytes(p.loadUnaligned(fromByteOffset: 2 &* n &+ 64, as: Words.self), xc + 64),
                          Vector(lowHalf: SIMD8(repeating: d[2]), highHalf: SIMD8(repeating: d[3])))
        }
        let full = blocks / 4
        for c in 0..<full { group(c, 4, halves(row + 136 &* c)) }
        let n = blocks - 4 * full
        if n > 0 { group(full, n, partialHalves(row + 136 &* full, count: n)) }
        return a0 + a1
    }

    // MARK: - Rows

    /// y[t, r] (+)= W[r, :] · x[t, :] for rows `rows` of `m` and tokens t < `input.tokens`; y is
    /// [tokens, ldy]. Rows go 16 at a time, their unreduced dot products summed together by
    /// `DecodeKernels.sums` (a horizontal sum per row would cost as much as a row's last group).
    @inline(__always)
    static func linearRows(_ m: QuantizedMatrix, _ input: QuantizedInput, _ y: UnsafeMutablePointer<Float>, ldy: Int,
                           rows: Range<Int>, accumulate: Bool) {
        let (blocks, stride) = (m.blocksPerRow, m.bytesPerRow)
        let base = UnsafeRawPointer(m.data)
        @inline(__always) func each(_ dot: (UnsafeRawPointer, Int) -> Vector) {
            withUnsafeTemporaryAllocation(of: Vector.self, capacity: 16) { lanes in
                let lanes = lanes.baseAddress!
                for t in 0..<input.tokens {
                    var r = rows.lowerBound
                    while r < rows.upperBound {
                        let width = min(16, rows.upperBound - r)
                        for l in 0..<width { lanes[l] = dot(base + (r &+ l) &* stride, t) }
                        for l in width..<16 { lanes[l] = Vector() }
                        let sums = DecodeKernels.sums(lanes)
                        let out = y + (t &* ldy &+ r)
                        if width == 16 {
                            DecodeKernels.store(accumulate ? DecodeKernels.load(out) + sums : sums, out)
                        } else {
                            for l in 0..<width { out[l] = accumulate ? out[l] + sums[l] : sums[l] }
                        }
                        r += 16
                    }
                }
            }
        }
        switch m.type {
        case .q8_0:
            let x = input.q8!
            each { row, t in dotQ8_0(row, x + t &* input.permutedStride, blocks: blocks) }
        case .q4_0:
            let x = input.q4!
            each { row, t in dotQ4(row, x + t &* input.permutedStride, nil, blocks: blocks, hasMin: false) }
        case .q4_1:
            let (x, s) = (input.q4!, input.sums!)
            each { row, t in
                dotQ4(row, x + t &* input.permutedStride, s + t &* input.sumStride, blocks: blocks, hasMin: true)
            }
        default: preconditionFailure("QuantizedKernels: \(m.type) is not a supported block format")
        }
    }
}

/// Activations x [tokens, K] rearranged for the quantised kernels: in the Q4 and/or Q8_0 order
/// (`QuantizedKernels.q4Order`, `q8Order`) and their per-block sums, as the matrices that read
/// them need. Valid inside `QuantizedInput.with`.
struct QuantizedInput {
    let tokens: Int
    /// Floats per token of `q4` and `q8` (whole groups of 128).
    let permutedStride: Int
    /// Floats per token of `sums` (whole groups of four blocks).
    let sumStride: Int
    let q4, q8, sums: UnsafePointer<Float>?

    /// Which arrangements a matrix of `type` reads.
    struct Needs: OptionSet {
        let rawValue: Int
        static let q4 = Needs(rawValue: 1)
        static let q8 = Needs(rawValue: 2)
        static let sums = Needs(rawValue: 4)

        init(rawValue: Int) { self.rawValue = rawValue }

        init(_ type: GGMLType) {
            switch type {
            case .q8_0: self = .q8
            case .q4_0: self = .q4
            case .q4_1: self = [.q4, .sums]
            default: self = []
            }
        }
    }

    /// Runs `body` with x [tokens, k] arranged as `needs` asks (k a multiple of 32).
    static func with<R>(_ needs: Needs, _ x: UnsafePointer<Float>, tokens: Int, k: Int,
                        _ body: (QuantizedInput) -> R) -> R {
        if needs.isEmpty {
            return body(QuantizedInput(tokens: tokens, permutedStride: 0, sumStride: 0, q4: nil, q8: nil, sums: nil))
        }
        let permuted = 128 * ((k + 127) / 128)
        let sumStride = permuted / 32
        let (q4Floats, q8Floats) = (needs.contains(.q4) ? permuted : 0, needs.contains(.q8) ? permuted : 0)
        let sumFloats = needs.contains(.sums) ? sumStride : 0
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: tokens * (q4Floats + q8Floats + sumFloats)) { buffer in
            let q4 = buffer.baseAddress!, q8 = q4 + tokens * q4Floats, sums = q8 + tokens * q8Floats
            for t in 0..<tokens {
                let row = x + t * k
                if needs.contains(.q4) { QuantizedKernels.permute(row, k: k, order: QuantizedKernels.q4Order, into: q4 + t * permuted) }
                if needs.contains(.q8) { QuantizedKernels.permute(row, k: k, order: QuantizedKernels.q8Order, into: q8 + t * permuted) }
                if needs.contains(.sums) { QuantizedKernels.blockSums(row, k: k, into: sums + t * sumStride) }
            }
            return body(QuantizedInput(tokens: tokens, permutedStride: permuted, sumStride: sumStride,
                                       q4: needs.contains(.q4) ? UnsafePointer(q4) : nil,
                                       q8: needs.contains(.q8) ? UnsafePointer(q8) : nil,
                                       sums: needs.contains(.sums) ? UnsafePointer(sums) : nil))
        }
    }
}
