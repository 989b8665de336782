import CLEXModel
import CLEXTensor
import Foundation
import Testing

/// The session's inference path (GEMVs on the worker team for steps of ≤ 8 tokens, chunked
/// OpenBLAS prefill, split-key decode attention, logits of chosen rows) against the reference:
/// `LlamaModel.forward` on a tape over the whole sequence, no cache.
///
/// Tolerance: 1e-5 of each logit row's largest magnitude (`worstRelativeError`). Both paths run
/// the same Float32 math in different summation orders (dot products of 48–600 terms, attention
/// over up to 600 keys in up to 8 slices), which moves a logit by a few ulps of the row's scale
/// (~1e-7 relative) per layer; 1e-5 leaves room for that and still fails on any real mistake
/// (a wrong row, head, position or mask moves logits by 1e-2 or more).
@Suite("inference path equals the reference forward")
struct FastInferenceTests {
    static let tolerance: Float = 1e-5

    /// Token ids 0..<61 in a fixed scrambled order.
    static func tokens(_ n: Int) -> [Int32] { (0..<n).map { Int32(($0 * 17 + 5) % 61) } }

    /// Logits [T, V] of `tokens` from the tape forward (the reference).
    static func reference(_ model: LlamaModel, _ tokens: [Int32], alibi: [Float]? = nil,
                          attentionFactor: Float = 1, queryScale: Float = 1) throws -> Tensor {
        let c = model.configuration
        let tape = Tape()
        var rotary: PositionInputs.Rotary?
        if alibi == nil {
            let inv = (0..<(c.headDimension / 2)).map { Float(1 / pow(c.ropeTheta, Double(2 * $0) / Double(c.headDimension))) }
            rotary = .init(frequencies: tape.constant(try Tensor(shape: [inv.count], values: inv)), attentionFactor: attentionFactor)
        }
        let positions = PositionInputs(positions: (0..<tokens.count).map(Float.init), rotary: rotary,
                                       alibiSlopes: alibi, queryScale: queryScale)
        return model.forward(tokens: tokens, weights: model.weights(on: tape, trainable: false), positions: positions).value
    }

    /// A session over `model` with plain RoPE (or ALiBi when `alibi` is given).
    static func session(_ model: LlamaModel, capacity: Int, alibi: [Float]? = nil, attentionFactor: Float = 1,
                        queryScale: Float = 1,
                        boundaries: @escaping (Int, Int) -> [Int] = { _, _ in [] }) throws -> InferenceSession {
        let c = model.configuration
        let plain = InferenceSession.defaultRotary(c)
        let rotary: InferenceSession.RotaryProvider = alibi != nil ? { _ in nil } : { n in
            try plain(n).map { ($0.frequencies, attentionFactor, queryScale) }
        }
        return try InferenceSession(model: model, capacity: capacity, rotary: rotary, alibiSlopes: alibi, boundaries: boundaries,
                                    cacheTypes: .f32)
    }

    /// Feeds `tokens` in pieces of the given sizes and compares every row with the reference.
    static func checkPieces(_ model: LlamaModel, _ tokens: [Int32], pieces: [Int], alibi: [Float]? = nil,
                            attentionFactor: Float = 1, queryScale: Float = 1) throws {
        let expected = try reference(model, tokens, alibi: alibi, attentionFactor: attentionFactor, queryScale: queryScale)
        let s = try session(model, capacity: tokens.count, alibi: alibi, attentionFactor: attentionFactor, queryScale: queryScale)
        var row = 0
        for n in pieces {
            let got = try s.feed(Array(tokens[row..<(row + n)]))
            #expect(got.shape == [n, model.configuration.vocabularySize])
            let error = worstRelativeError(got, expected.slice(rows: row..<(row + n)))
            #expect(error < tolerance, "rows \(row)..<\(row + n): error \(error)")
            row += n
        }
        #expect(row == tokens.count)
    }

    @Test("a prefill (GEMM path) and single-token decoding (GEMV path) match, tied and untied",
          arguments: [false, true])
    func prefillThenDecode(tied: Bool) throws {
        try Self.checkPieces(tinyModel(tied: tied), Self.tokens(40), pieces: [12] + Array(repeating: 1, count: 28))
    }

    @Test("steps of 2, 3, 8 (GEMV path) and 9 tokens (GEMM path) match")
    func multiTokenSteps() throws {
        try Self.checkPieces(tinyModel(), Self.tokens(40), pieces: [3, 2, 8, 9, 1, 8, 9])
    }

    @Test("a prefill longer than one chunk, then decoding over 600 keys in several slices, matches")
    func longContext() throws {
        // 530 tokens: a 512-token chunk and an 18-token one; then decode steps attend over up to
        // 600 keys, split into 8 slices merged by their softmax statistics.
        let tokens: [Int32] = (0..<600).map { (i: Int) -> Int32 in Int32((i * 7 + i / 61) % 61) }
        try Self.checkPieces(tinyModel(), tokens, pieces: [530, 1, 3, 1, 8, 57])
    }

    /// Rows of 20 kv heads × 64 (1280 floats: 80 KB for 16 tokens, over the decode attention's
    /// 64 KB limit for whole rows) are converted one kv head at a time; grouped queries (2 per kv
    /// head) over 70 keys in two slices.
    @Test("decoding with rows wide enough to be read one kv head at a time matches")
    func wideRows() throws {
        let c = LlamaConfiguration(vocabularySize: 61, hiddenSize: 2560, intermediateSize: 64, layerCount: 1, headCount: 40,
                                   keyValueHeadCount: 20, rmsNormEpsilon: 1e-5, ropeTheta: 10000, maxPositionEmbeddings: 128)
        var p = LlamaParameters(randomFor: c, seed: 5)
        for slot in CheckpointNames.slots(layers: c.layerCount, tied: false) where p[slot]!.tensor.rank == 2 {
            p[slot] = Weight(Ops.scale(p[slot]!.tensor, 4))
        }
        try Self.checkPieces(LlamaModel(configuration: c, parameters: p), Self.tokens(70), pieces: [40, 1, 3, 1, 25])
    }

    @Test("ALiBi (no RoPE) matches on both paths")
    func alibi() throws {
        let slopes = Ops.alibiSlopes(heads: 6)
        try Self.checkPieces(tinyModel(), Self.tokens(40), pieces: [20, 1, 3, 1, 15], alibi: slopes)
    }

    @Test("an attention factor on cos/sin and a query scale match")
    func factors() throws {
        try Self.checkPieces(tinyModel(), Self.tokens(30), pieces: [10, 1, 4, 15], attentionFactor: 1.2, queryScale: 0.9)
    }

    @Test("logits: .last is the last row of .all, also across rotation boundaries")
    func lastRow() throws {
        let model = tinyModel()
        let tokens = Self.tokens(40)
        for boundaries in [[], [7, 19]] {
            let all = try Self.session(model, capacity: 40, boundaries: { _, _ in boundaries }).feed(tokens)
            let s = try Self.session(model, capacity: 40, boundaries: { _, _ in boundaries })
            let last = try s.feed(tokens, logits: .last)
            #expect(last.shape == [1, model.configuration.vocabularySize])
            // The LM head runs as a 1-row instead of a 40-row sgemm: equal up to rounding.
            #expect(worstRelativeError(last, all.slice(rows: 39..<40)) < 1e-6, "boundaries \(boundaries)")
            #expect(s.count == 40)
        }
        // Single-token steps: .last is the only row, computed the same way.
        let s1 = try Self.session(model, capacity: 41)
        let s2 = try Self.session(model, capacity: 41)
        _ = try s1.feed(tokens)
        _ = try s2.feed(tokens, logits: .last)
        #expect(try s1.feed([3]).scalars == s2.feed([3], logits: .last).scalars)
        #expect(try s2.feed([], logits: .last).shape == [0, model.configuration.vocabularySize])
    }

    @Test("the streaming feed hands over each rotation piece once, in order, equal to the rows of .all")
    func streamingPieces() throws {
        let model = tinyModel()
        let tokens = Self.tokens(40)
        let boundaries = [7, 19, 20]
        let all = try Self.session(model, capacity: 40, boundaries: { _, _ in boundaries }).feed(tokens)
        let s = try Self.session(model, capacity: 40, boundaries: { _, _ in boundaries })
        var firsts: [Int] = []
        try s.feed(tokens, logits: .all) { first, logits in
            firsts.append(first)
            #expect(logits.scalars == all.slice(rows: first..<(first + logits.shape[0])).scalars, "piece at \(first)")
        }
        #expect(firsts == [0, 7, 19, 20], "one piece per rotation")
        var last: [Int] = []
        try Self.session(model, capacity: 40, boundaries: { _, _ in boundaries }).feed(tokens, logits: .last) { first, logits in
            last.append(first)
            #expect(logits.shape == [1, model.configuration.vocabularySize])
        }
        #expect(last == [39], ".last delivers only the final row")
    }

    @Test("SmolLM2: prefill and decode steps match the reference forward",
          .enabled(if: Assets.haveSmolLM2, "needs cache/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf: run scripts/fetch-assets"))
    func smolLM2() throws {
        let loaded = try ModelLoader.load(Assets.smolLM2)
        let tokens = try #require(loaded.tokenizer).encode("The quick brown fox jumps over the lazy dog, and then it", addSpecial: false)
        try Self.checkPieces(loaded.model.converted(to: .f32), tokens, pieces: [tokens.count - 5, 1, 3, 1])
    }
}
