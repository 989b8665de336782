import CLEXModel
import CLEXTensor
import CLEXTokenizer
import Foundation
import Testing

/// `InferenceSession.prefill`: ours (`split`) against the CLEX reference's `single` — one
/// rotation per feed, that of the context at the feed's end, which the cached keys take too. The
/// independent computation is the tape forward (no session code) of
/// `PositionalIntegrationTests.chunkReference`: in this one-layer model, a chunk through a cache
/// whose keys take the chunk end's rotation equals the rows of the prefix computed from scratch
/// with that rotation. Session (Float32 cache) and tape run the same Float32 kernels in other
/// groupings (≤ 1e-5 relative here); another rotation moves the logits by ≫ 1e-3.
@Suite("prefill rotation: split and single") struct PrefillRotationTests {
    static let model = tinyModel(layers: 1)

    /// CLEX with T = 4 and a non-zero ODE (D random); L = 16 by default, so t = 1, 2, 3 up to
    /// 16, 32, 48 tokens.
    static func clex(L: Int = 16) throws -> any PositionalMethod {
        var c = PositionalConfiguration(model: model.configuration, scheme: .clex(CLEXParameters(maxFactor: 4, timeStep: 0.05)))
        c.contextLength = L
        let method = try c.makeMethod(seed: 1)
        var g = SeededGenerator(seed: 4)
        try method.setLearnedParameter(CLEXCheckpointNames.down, to: Tensor.randomUniform([8, 4], low: -0.3, high: 0.3, generator: &g))
        return method
    }

    static func tokens(_ n: Int) -> [Int32] { (0..<n).map { Int32(($0 * 17 + 5) % 61) } }

    /// The rows of `feeds` (token counts) fed one after another into a fresh session.
    static func session(_ method: any PositionalMethod, _ prefill: PrefillRotation, tokens: [Int32], feeds: [Int]) throws -> [Float] {
        let session = try InferenceSession(model: model, capacity: tokens.count, positional: method, prefill: prefill,
                                           cacheTypes: .f32)
        var out: [Float] = []
        var start = 0
        for n in feeds {
            out += try session.feed(Array(tokens[start..<(start + n)])).scalars
            start += n
        }
        return out
    }

    static func worst(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        let scale = b.map(abs).max()!
        return zip(a, b).map { abs($0 - $1) }.max()! / scale
    }

    @Test("single over an empty cache equals one tape forward with the rotation of the feed's end",
          arguments: [(40, 16), (1000, 256)])
    func singleIsOneForward(n: Int, L: Int) throws {
        // 1000 tokens: two pieces of ≤ 512 logit rows inside the feed, both at t = ⌈1000/256⌉ = 4
        let method = try Self.clex(L: L)
        let tokens = Self.tokens(n)
        let single = try Self.session(method, .single, tokens: tokens, feeds: [n])
        let oneForward = try PositionalIntegrationTests.chunkReference(method, Self.model, tokens: tokens, chunkEnds: [n])
        #expect(Self.worst(single, oneForward) < 1e-5)
        let split = try Self.session(method, .split, tokens: tokens, feeds: [n])
        #expect(Self.worst(split, oneForward) > 1e-3, "the split prefill must differ past L")
    }

    @Test("single over a non-empty cache: the cached keys take each feed's end rotation too")
    func singleAfterCache() throws {
        let method = try Self.clex()
        let tokens = Self.tokens(44)
        // feeds end at 10 (t = 1), 37 (t = 3) and 44 (t = 3): in the second, 10 cached keys change rotation
        let single = try Self.session(method, .single, tokens: tokens, feeds: [10, 27, 7])
        let expected = try PositionalIntegrationTests.chunkReference(method, Self.model, tokens: tokens, chunkEnds: [10, 37, 44])
        #expect(Self.worst(single, expected) < 1e-5)
        let split = try Self.session(method, .split, tokens: tokens, feeds: [10, 27, 7])
        let perToken = try PositionalIntegrationTests.chunkReference(method, Self.model, tokens: tokens, chunkEnds: Array(1...44))
        #expect(Self.worst(split, perToken) < 1e-5)
        #expect(Self.worst(single, split) > 1e-3)
    }

    @Test("single and split agree where the rotation does not change: plain RoPE, and CLEX below L")
    func agreeWithoutChange() throws {
        let rope = try PositionalConfiguration(model: Self.model.configuration).makeMethod()
        let long = Self.tokens(40)
        #expect(try Self.session(rope, .single, tokens: long, feeds: [40]) == Self.session(rope, .split, tokens: long, feeds: [40]))
        let short = Self.tokens(16)
        let clex = try Self.clex()
        #expect(try Self.session(clex, .single, tokens: short, feeds: [16]) == Self.session(clex, .split, tokens: short, feeds: [16]))
    }

    @Test("single's last-row logits are the last row of its full logits; split's differ from them past L (two layers)")
    func lastRow() throws {
        let method = try Self.clex()
        let tokens = Self.tokens(40)
        let v = Self.model.configuration.vocabularySize
        let full = try Self.session(method, .single, tokens: tokens, feeds: [40])
        let session = try InferenceSession(model: Self.model, capacity: 40, positional: method, prefill: .single, cacheTypes: .f32)
        let last = try session.feed(tokens, logits: .last).scalars
        #expect(Self.worst(last, Array(full.suffix(v))) < 1e-5)
        // With one layer every key, read with the last rotation, is the same under both: the
        // last rows differ only where earlier tokens' hidden states took earlier rotations.
        let deep = tinyModel()
        let singleDeep = try InferenceSession(model: deep, capacity: 40, positional: method, prefill: .single, cacheTypes: .f32)
        let lastDeep = try singleDeep.feed(tokens, logits: .last).scalars
        let splitSession = try InferenceSession(model: deep, capacity: 40, positional: method, cacheTypes: .f32)
        #expect(Self.worst(try splitSession.feed(tokens, logits: .last).scalars, lastDeep) > 1e-3)
    }

    @Test("Generator reads the whole prompt in one feed under single (pieces would each take their own rotation)")
    func generatorSinglePrompt() throws {
        // a 700-token prompt, more than Generator.prefillPiece
        let method = try Self.clex(L: 256)
        let prompt = Self.tokens(700)
        func greedy(_ session: InferenceSession, first: Tensor, steps: Int) throws -> [Int32] {
            var logits = first
            var out: [Int32] = []
            for _ in 0..<steps {
                var best = 0
                for i in 1..<logits.shape[1] where logits.pointer[i] > logits.pointer[best] { best = i }
                out.append(Int32(best))
                logits = try session.feed([Int32(best)], logits: .last)
            }
            return out
        }
        let oneFeed = try InferenceSession(model: Self.model, capacity: 720, positional: method, prefill: .single)
        let expected = try greedy(oneFeed, first: try oneFeed.feed(prompt, logits: .last), steps: 8)
        for prefill in PrefillRotation.allCases {
            let session = try InferenceSession(model: Self.model, capacity: 720, positional: method, prefill: prefill)
            var generator = Generator(session: session, tokenizer: ByteTokenizer(), sampler: Sampler())
            generator.stopTokens = []
            var feeds: [Int] = []
            let result = try generator.generate(prompt: prompt, maxTokens: 8, onPrefill: { feeds.append($0) })
            #expect(feeds == (prefill == .single ? [700] : [512, 700]), "\(prefill)")
            if prefill == .single { #expect(result.tokens == expected) }
        }
    }
}
