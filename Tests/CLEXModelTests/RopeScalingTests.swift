import CLEXModel
import CLEXTensor
import Foundation
import Testing

/// The fixed RoPE methods (../shared/spec/rope-scaling.md): the spec's golden table (d = 64,
/// b = 10000, L0 = 2048; float64 from the formulas), each option of YaRN, LongRoPE's switch,
/// llama3's three bands, ALiBi, and where each method's rotation changes with the context.
///
/// Tolerances: the Double path is the formula itself, so the table's 9-digit values bound it
/// (1e-6 relative is loose, as the brief asks); the Float path rounds once (6e-8), so 1e-5.
@Suite("RoPE scaling methods") struct RopeScalingTests {
    static let d = 64, L0 = 2048

    /// rope-scaling.md "Golden values": inv[0], inv[1], inv[8], inv[16], inv[24], inv[31], Σ inv.
    static let golden: [(name: String, scheme: PositionalScheme, context: Int, values: [Double], sum: Double)] = [
        ("default", .none, 2048, [1, 0.749894209, 0.1, 0.01, 0.001, 1.33352143e-4], 3.99790823),
        ("linear s=4", .linear(factor: 4), 2048, [0.25, 0.187473552, 0.025, 0.0025, 0.00025, 3.33380358e-5], 0.999477059),
        ("dynamic s=4 n=8192", .dynamic(factor: 4), 8192,
         [1, 0.690345254, 0.0515858686, 0.00266110184, 1.3727525e-4, 1.02578572e-5], 3.22938024),
        ("yarn s=4", .yarn(YaRNParameters(factor: 4, originalContextLength: 2048)), 2048,
         [1, 0.749894209, 0.1, 0.00538461538, 0.00025, 3.33380358e-5], 3.93068575),
    ]
    static let indices = [0, 1, 8, 16, 24, 31]

    static func configuration(_ scheme: PositionalScheme, L: Int = 2048, heads: Int = 8) -> PositionalConfiguration {
        PositionalConfiguration(scheme: scheme, base: 10000, rotaryDimension: d, contextLength: L, headCount: heads)
    }

    static func relativeError(_ a: Double, _ b: Double) -> Double { abs(a - b) / abs(b) }

    @Test("the golden table: Double to 1e-6 relative, Float to 1e-5", arguments: 0..<4)
    func goldenTable(row: Int) throws {
        let g = Self.golden[row]
        let method = try Self.configuration(g.scheme).makeMethod()
        let r = try #require(try method.inference(contextLength: g.context))
        #expect(r.exactFrequencies.count == 32 && r.frequencies.count == 32)
        for (i, expected) in zip(Self.indices, g.values) {
            #expect(Self.relativeError(r.exactFrequencies[i], expected) < 1e-6, "\(g.name) inv[\(i)] = \(r.exactFrequencies[i])")
            #expect(Self.relativeError(Double(r.frequencies[i]), expected) < 1e-5, "\(g.name) Float inv[\(i)]")
        }
        #expect(Self.relativeError(r.exactFrequencies.reduce(0, +), g.sum) < 1e-6, "\(g.name) Σ")
        #expect(Self.relativeError(Double(r.frequencies.reduce(0, +)), g.sum) < 1e-5, "\(g.name) Float Σ")
    }

    @Test("golden extras: dynamic b' = 141213.757398; yarn low = 8, high = 21, a = 1.138629436")
    func goldenExtras() throws {
        let b = RopeFrequencies.dynamicNTKBase(base: 10000, dimension: 64, factor: 4, contextLength: 2048, sequenceLength: 8192)
        #expect(Self.relativeError(b, 141213.757398) < 1e-9)
        let y = YaRNParameters(factor: 4, originalContextLength: 2048)
        let range = RopeFrequencies.yarnCorrectionRange(base: 10000, dimension: 64, parameters: y)
        #expect(range.low == 8 && range.high == 21)
        #expect(Self.relativeError(y.resolvedAttentionFactor, 1.138629436) < 1e-9)
        let r = try #require(try Self.configuration(.yarn(y)).makeMethod().inference(contextLength: 5))
        #expect(abs(Double(r.attentionFactor) - 1.138629436) < 1e-6)
    }

    @Test("dynamic NTK: plain RoPE up to L, a new base for every length past L")
    func dynamicNTK() throws {
        let m = try Self.configuration(.dynamic(factor: 4)).makeMethod()
        let plain = RopeFrequencies.standard(base: 10000, dimension: 64)
        #expect(try m.inference(contextLength: 1)?.exactFrequencies == plain)
        #expect(try m.inference(contextLength: 2048)?.exactFrequencies == plain)
        let a = try #require(try m.inference(contextLength: 2049)), b = try #require(try m.inference(contextLength: 2050))
        #expect(a.exactFrequencies != plain && a.exactFrequencies != b.exactFrequencies)
        #expect(m.rotationSegments(cached: 0, total: 2051) == [2048, 2049, 2050, 2051])
        #expect(m.rotationSegments(cached: 10, total: 100) == [100])
        #expect(m.changesRotation(from: 2048, to: 2049) && !m.changesRotation(from: 5, to: 2048))
    }

    @Test("static NTK: b' = b·α^(d/(d−2))")
    func staticNTK() throws {
        let r = try #require(try Self.configuration(.ntk(factor: 3)).makeMethod().inference(contextLength: 99_999))
        let expected = RopeFrequencies.standard(base: 31082.2367, dimension: 64)
        for j in 0..<32 { #expect(Self.relativeError(r.exactFrequencies[j], expected[j]) < 1e-8) }
    }

    @Test("YaRN options: truncate = false, mscale/mscale_all_dim, attention_factor, beta, ext factor")
    func yarnOptions() throws {
        let base = YaRNParameters(factor: 4, originalContextLength: 2048)
        var untruncated = base
        untruncated.truncate = false
        let range = RopeFrequencies.yarnCorrectionRange(base: 10000, dimension: 64, parameters: untruncated)
        // corr(r) = d·ln(L0/(2πr)) / (2 ln b) without rounding.
        let corr = { (r: Double) in 64 * log(2048 / (r * 2 * Double.pi)) / (2 * log(10000.0)) }
        #expect(abs(range.low - corr(32)) < 1e-12 && abs(range.high - corr(1)) < 1e-12)
        let inv = RopeFrequencies.yarn(base: 10000, dimension: 64, parameters: untruncated)
        let plain = RopeFrequencies.standard(base: 10000, dimension: 64)
        let ramp = (16 - corr(32)) / (corr(1) - corr(32))
        #expect(Self.relativeError(inv[16], plain[16] / 4 * ramp + plain[16] * (1 - ramp)) < 1e-12)

        var deepseek = base
        (deepseek.mscale, deepseek.mscaleAllDim) = (1.0, 0.707)
        let m = { (s: Double, k: Double) in 0.1 * k * log(s) + 1 }
        #expect(Self.relativeError(deepseek.resolvedAttentionFactor, m(4, 1) / m(4, 0.707)) < 1e-12)
        deepseek.mscaleAllDim = 0  // HF: `if mscale and mscale_all_dim` — 0 falls back to mscale(s)
        #expect(deepseek.resolvedAttentionFactor == m(4, 1))
        var explicit = base
        explicit.attentionFactor = 0.5
        explicit.attentionScale = 2  // llama.cpp's attn_factor multiplies
        #expect(explicit.resolvedAttentionFactor == 1)
        #expect(YaRNParameters(factor: 1, originalContextLength: 2048).resolvedAttentionFactor == 1)

        var wide = base
        (wide.betaFast, wide.betaSlow) = (64, 0.5)
        let wideRange = RopeFrequencies.yarnCorrectionRange(base: 10000, dimension: 64, parameters: wide)
        #expect(wideRange.low < 8 && wideRange.high > 21)

        var pi = base
        pi.extrapolationMix = 0  // ggml: ext_factor 0 is plain interpolation, no mscale
        #expect(RopeFrequencies.yarn(base: 10000, dimension: 64, parameters: pi) == plain.map { $0 / 4 })
        #expect(pi.resolvedAttentionFactor == 1)
    }

    @Test("LongRoPE: short factors up to L0, long past it; attention factor √(1 + ln s / ln L0)")
    func longRoPE() throws {
        let short = (0..<32).map { 1 + Double($0) / 64 }, long = (0..<32).map { 1 + Double($0) / 8 }
        let p = LongRoPEParameters(shortFactor: short, longFactor: long, originalContextLength: 4096, factor: 32)
        let m = try Self.configuration(.longRoPE(p), L: 131072).makeMethod()
        let plain = RopeFrequencies.standard(base: 10000, dimension: 64)
        let a = try #require(try m.inference(contextLength: 4096)), b = try #require(try m.inference(contextLength: 4097))
        for j in 0..<32 {
            #expect(a.exactFrequencies[j] == plain[j] / short[j])
            #expect(b.exactFrequencies[j] == plain[j] / long[j])
        }
        let factor = (1 + log(32.0) / log(4096.0)).squareRoot()
        #expect(abs(Double(a.attentionFactor) - factor) < 1e-6 && a.attentionFactor == b.attentionFactor)
        #expect(m.rotationSegments(cached: 0, total: 10000) == [4096, 10000])
        #expect(m.nextRotationChange(after: 5000) == nil)
        var unscaled = p
        unscaled.factor = 1
        #expect(unscaled.resolvedAttentionFactor == 1)
        unscaled.attentionFactor = 1.25
        #expect(unscaled.resolvedAttentionFactor == 1.25)
    }

    @Test("llama3: high frequencies kept, low ones divided by the factor, the band between smoothed")
    func llama3() throws {
        // Llama 3.1: factor 8, low 1, high 4, L0 8192, head_dim 128, rope_theta 500000.
        let p = Llama3Parameters(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 8192)
        let inv = RopeFrequencies.llama3(base: 500000, dimension: 128, parameters: p)
        let plain = RopeFrequencies.standard(base: 500000, dimension: 128)
        var bands = (kept: 0, divided: 0, smoothed: 0)
        for j in 0..<64 {
            let wavelength = 2 * Double.pi / plain[j]
            if wavelength < 8192 / 4 {
                #expect(inv[j] == plain[j])
                bands.kept += 1
            } else if wavelength > 8192 {
                #expect(inv[j] == plain[j] / 8)
                bands.divided += 1
            } else {
                let smooth = (8192 / wavelength - 1) / 3
                #expect(Self.relativeError(inv[j], (1 - smooth) * plain[j] / 8 + smooth * plain[j]) < 1e-12)
                #expect(inv[j] < plain[j] && inv[j] > plain[j] / 8)
                bands.smoothed += 1
            }
        }
        #expect(bands.kept > 0 && bands.divided > 0 && bands.smoothed > 0)
        let method = try PositionalConfiguration(scheme: .llama3(p), base: 500000, rotaryDimension: 128, contextLength: 131072)
            .makeMethod()
        #expect(try method.inference(contextLength: 100)?.exactFrequencies == inv)
        #expect(method.nextRotationChange(after: 1) == nil)
    }

    @Test("static methods never change their rotation; ALiBi has slopes and no rotation")
    func staticAndALiBi() throws {
        for scheme in [PositionalScheme.none, .linear(factor: 2), .ntk(factor: 2),
                       .yarn(YaRNParameters(factor: 2, originalContextLength: 2048)),
                       .llama3(Llama3Parameters(factor: 2, originalContextLength: 1024)), .alibi] {
            let m = try Self.configuration(scheme).makeMethod()
            #expect(m.rotationSegments(cached: 0, total: 100_000) == [100_000], "\(scheme.typeName)")
            #expect(!m.changesRotation(from: 1, to: 1_000_000))
        }
        let alibi = try Self.configuration(.alibi, heads: 12).makeMethod()
        #expect(!alibi.usesRoPE && alibi.alibiSlopes == Ops.alibiSlopes(heads: 12))
        #expect(try alibi.inference(contextLength: 10) == nil)
        let tape = Tape()
        let inputs = try alibi.inferenceInputs(positions: [7, 8, 9], contextLength: 10, tape: tape)
        #expect(inputs.rotary == nil && inputs.alibiSlopes == Ops.alibiSlopes(heads: 12) && inputs.positions == [7, 8, 9])
        let rope = try Self.configuration(.yarn(YaRNParameters(factor: 4, originalContextLength: 2048))).makeMethod()
        #expect(rope.usesRoPE && rope.alibiSlopes == nil)
        let ropeInputs = try rope.inferenceInputs(positions: [3], contextLength: 4, tape: tape)
        #expect(ropeInputs.rotary?.frequencies.value.shape == [32])
        #expect(ropeInputs.rotary?.frequencies.requiresGrad == false)
        #expect(abs((ropeInputs.rotary?.attentionFactor ?? 0) - 1.1386294) < 1e-6)
    }

    @Test("training with a fixed method: positions 0…N−1 and the rotation at N, no parameters")
    func fixedTraining() throws {
        let m = try Self.configuration(.dynamic(factor: 2)).makeMethod()
        var g = SeededGenerator(seed: 1)
        let batch = try m.training(sequenceLength: 4096, tape: Tape(), generator: &g)
        #expect(batch.inputs.positions == (0..<4096).map(Float.init))
        #expect(batch.lengthFactor == 1 && batch.parameters.isEmpty && m.learnedParameters.isEmpty)
        #expect(batch.inputs.rotary?.frequencies.value.scalars == (try m.inference(contextLength: 4096))?.frequencies)
        #expect(throws: ConfigurationError.self) { try m.setLearnedParameter(CLEXCheckpointNames.up, to: Tensor(zeros: [1])) }
    }

    @Test("the rope table (`clex rope`) encodes to JSON with frequencies per context and CLEX θ(t)")
    func ropeTable() throws {
        let table = try RopeTable(configuration: Self.configuration(.dynamic(factor: 4)), contextLengths: [2048, 8192])
        #expect(table.method == "dynamic" && table.contexts.map(\.contextLength) == [2048, 8192])
        #expect(Self.relativeError(table.contexts[1].frequencies![1], 0.690345254) < 1e-6)
        let json = try JSONEncoder().encode(table)
        #expect(try JSONDecoder().decode(RopeTable.self, from: json) == table)

        let clex = PositionalConfiguration(scheme: .clex(CLEXParameters(maxFactor: 4, timeStep: 0.05)), base: 10000,
                                           rotaryDimension: 64, contextLength: 2048)
        let c = try RopeTable(configuration: clex, contextLengths: [100, 5000], lengthFactors: [1, 2, 3.5])
        #expect(c.contexts.map(\.lengthFactor) == [1, 3])
        #expect(c.clex?.map(\.t) == [1, 2, 3.5])
        let ntk2 = RopeFrequencies.standard(base: 31082.2367, dimension: 64)
        for j in 0..<32 { #expect(Self.relativeError(c.clex![1].frequencies[j], ntk2[j]) < 1e-5) }
        #expect(throws: PositionalError.self) { try RopeTable(configuration: clex, lengthFactors: [5]) }
        #expect(throws: PositionalError.self) { try RopeTable(configuration: clex, contextLengths: [4 * 2048 + 1]) }
        let alibi = try RopeTable(configuration: Self.configuration(.alibi, heads: 4))
        #expect(alibi.alibiSlopes?.count == 4 && alibi.contexts[0].frequencies == nil)
    }
}
