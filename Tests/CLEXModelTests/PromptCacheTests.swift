import CLEXModel
import CLEXTensor
import CLEXTokenizer
import Testing

/// A session truncated to a cached prefix and continued equals the whole sequence read from
/// scratch, for the methods whose rotation changes with the length (CLEX across steps of t,
/// dynamic NTK past L, LongRoPE's switch): keys are cached un-rotated and, under `split`
/// prefill, each token's keys and values depend only on the tokens before it. The model and
/// methods are `PositionalIntegrationTests`' (L = 12, weights scaled so that positions move the
/// logits at O(1)); Float32 activations and cache, so the paths agree to rounding.
@Suite("Prompt cache") struct PromptCacheTests {
    static func model() -> LlamaModel { PositionalIntegrationTests.positionSensitive(layers: 2) }

    static func session(_ method: any PositionalMethod, _ model: LlamaModel, capacity: Int = 48) throws -> InferenceSession {
        try InferenceSession(model: model, capacity: capacity, positional: method, precision: .float32, cacheTypes: .f32)
    }

    static func tokens(_ n: Int, seed: UInt64) -> [Int32] {
        var g = SeededGenerator(seed: seed)
        return (0..<n).map { _ in Int32.random(in: 0..<40, using: &g) }
    }

    @Test("a prefix kept from another sequence, then the rest: the logits of reading it all from scratch")
    func truncatedEqualsScratch() throws {
        let model = Self.model()
        // Prefix of 10 tokens (t = 1 at L = 12); the cached sequence went on to 20 (t = 2); the
        // new request reads 30 (t = 3).
        let prefix = Self.tokens(10, seed: 1)
        let old = prefix + Self.tokens(10, seed: 2), new = prefix + Self.tokens(20, seed: 5)
        for (name, method) in try PositionalIntegrationTests.methods() {
            let cached = try Self.session(method, model)
            _ = try cached.feed(old)
            #expect(cached.commonPrefix(with: new) == 10)
            cached.truncate(to: 10)
            #expect(cached.tokens == prefix)
            let continued = try cached.feed(Array(new[10...])).scalars
            let scratch = try Self.session(method, model).feed(new).slice(rows: 10..<30).scalars
            let worst = zip(continued, scratch).map { abs($0 - $1) }.max()!
            #expect(worst < 1e-5, "\(name): \(worst)")
            // The other sequence's logits at the same places differ: the check can fail.
            let other = try Self.session(method, model).feed(old + Self.tokens(10, seed: 9)).slice(rows: 10..<30).scalars
            #expect(zip(other, scratch).map { abs($0 - $1) }.max()! > 1e-2, "\(name)")
            #expect(cached.tokens == new)
        }
    }

    @Test("greedy replies with a cached prefix equal replies from scratch")
    func greedyReplies() throws {
        let model = Self.model()
        let document = Self.tokens(14, seed: 11), question = Self.tokens(6, seed: 12)
        for (name, method) in try PositionalIntegrationTests.methods() {
            func reply(_ session: InferenceSession, _ prompt: [Int32]) throws -> [Int32] {
                var generator = Generator(session: session, tokenizer: ByteTokenizer(), sampler: Sampler())
                generator.stopTokens = []
                return try generator.generate(prompt: prompt, maxTokens: 12).tokens
            }
            let warm = try Self.session(method, model)
            let full = document + question
            _ = try reply(warm, document + Self.tokens(3, seed: 13))
            let kept = warm.commonPrefix(with: full)
            #expect(kept >= 14 && kept < full.count)
            warm.truncate(to: kept)
            let cachedReply = try reply(warm, Array(full[kept...]))
            let scratchReply = try reply(try Self.session(method, model), full)
            #expect(cachedReply == scratchReply, "\(name)")
            #expect(warm.count == full.count + 11)
        }
    }

    @Test("a reply streamed through Decoding never shows part of a stop string and equals the result's text")
    func stopStringHeldBack() throws {
        let model = Self.model()
        let method = try PositionalIntegrationTests.methods()[0].1
        var generator = Generator(session: try Self.session(method, model), tokenizer: ByteTokenizer(), sampler: Sampler())
        generator.stopTokens = []
        let full = try generator.generate(prompt: Self.tokens(5, seed: 3), maxTokens: 16).text
        let scalars = Array(full.unicodeScalars)
        // Three scalars from the middle, away from "\r\n" (one Character, which a cut would split).
        let start = try #require((2..<max(2, scalars.count - 4)).first { i in
            !scalars[(i - 1)..<(i + 4)].contains { $0 == "\r" || $0 == "\n" }
        })
        let stop = String(String.UnicodeScalarView(scalars[start..<(start + 3)]))
        generator = Generator(session: try Self.session(method, model), tokenizer: ByteTokenizer(), sampler: Sampler())
        generator.stopTokens = []
        generator.stopStrings = [stop]
        var streamed = ""
        let result = try generator.generate(prompt: Self.tokens(5, seed: 3), maxTokens: 16, onText: { streamed += $0 })
        #expect(result.stopReason == .stopString)
        #expect(streamed == result.text)
        #expect(!result.text.contains(stop))
        #expect(full.hasPrefix(result.text + stop))
    }
}
