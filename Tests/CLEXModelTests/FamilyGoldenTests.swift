import CLEXModel
import CLEXTensor
import Foundation
import Testing

/// Tiny checkpoints of each family written by the real reference (scripts/make-family-fixtures.py:
/// Phi-2 and Mixtral with CLEX from the CLEX reference's own classes, GPT-NeoX parallel and
/// sequential and Mistral — with a window past every length and with a sliding window of 12 — from
/// transformers 4.36.2, Qwen2 from 4.46.3), loaded as stored and run by both backends:
///
/// - token-level NLLs of one forward over the first n tokens (the reference's one rotation per
///   call; for CLEX t = ⌈n / L⌉ with L = 16, so n > 16 exercises t > 1) within 1e-4 relative,
///   from the inference session (prefill `.single`) and from the tape forward;
/// - greedy continuations (prompt in one call, then a token per call) equal token for token.
@Suite("families: golden NLLs and greedy tokens from the PyTorch reference")
struct FamilyGoldenTests {
    static let fixtures = ["phi2-clex", "mixtral-clex", "gptneox", "gptneox-sequential", "mistral", "mistral-window", "qwen2"]

    struct Golden: Decodable {
        var tokens: [Int32]
        var nll: [String: [Double]]
        var prompt: [Int32]
        var greedy: [Int32]
    }

    static func directory(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/Families/\(name)").path
    }

    static func golden(_ name: String) throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: URL(fileURLWithPath: directory(name) + "/golden.json")))
    }

    /// Largest |ours − reference| / |reference| over the NLLs of one length.
    static func worst(_ ours: [Float], _ reference: [Double]) -> Double {
        zip(ours, reference).map { abs(Double($0) - $1) / abs($1) }.max() ?? .infinity
    }

    @Test("the fixture loads as its family", arguments: fixtures)
    func family(name: String) throws {
        let c = try ModelLoader.load(Self.directory(name)).model.configuration
        let expected: [String: ModelArchitecture] = ["phi2-clex": .phi2, "mixtral-clex": .mixtral, "gptneox": .gptNeoX,
                                                     "gptneox-sequential": .gptNeoX, "mistral": .mistral, "mistral-window": .mistral,
                                                     "qwen2": .qwen2]
        #expect(c.architecture == expected[name])
        #expect(c.rotaryDimension == ["phi2-clex": 8, "mixtral-clex": 16, "gptneox": 4, "gptneox-sequential": 4, "mistral": 16,
                                        "mistral-window": 16, "qwen2": 16][name])
        #expect(c.slidingWindow == ["mistral": 4096, "mistral-window": 12, "mixtral-clex": 4096][name])
        #expect(c.parallelResidual == (name == "phi2-clex" || name == "gptneox"))
    }

    @Test("a sliding window of 12 matches the reference when the text is read in pieces, each cache type, through prefill and decode")
    func slidingWindowPieces() throws {
        let loaded = try ModelLoader.load(Self.directory("mistral-window"))
        let golden = try Self.golden("mistral-window")
        let tokens = golden.tokens
        let reference = try #require(golden.nll["64"])
        // Pieces of 20 (past the window: the prefill reads keys 9… of 40), 3 (decode under the
        // window) and 1; the cache types change how keys are stored, not which are seen.
        for (pieces, types, tolerance) in [([20, 20, 24], KVCacheTypes.f32, 1e-4), ([3, 3, 3, 1, 1, 20, 33], .f32, 1e-4),
                                           ([20, 20, 24], .f16, 1e-2)] {
            let session = try InferenceSession(model: loaded.model, capacity: 64, positional: try loaded.positionalMethod().method,
                                               precision: .float32, prefill: .single, cacheTypes: types)
            var rows: [Tensor] = []
            var start = 0
            for n in pieces {
                rows.append(try session.feed(Array(tokens[start..<(start + n)])))
                start += n
            }
            var logits: [Float] = []
            for r in rows { logits += r.scalars }
            let all = try Tensor(shape: [64, loaded.model.configuration.vocabularySize], values: logits)
            let ours = Ops.crossEntropy(all.slice(rows: 0..<63), targets: Array(tokens.dropFirst())).perRow.scalars
            #expect(Self.worst(ours, reference) < tolerance, "pieces \(pieces), \(types): off by \(Self.worst(ours, reference))")
        }
        // The window matters: the same weights with full attention read the text differently.
        var full = loaded.model.configuration
        full.slidingWindow = nil
        let model = LlamaModel(configuration: full, parameters: loaded.model.parameters)
        let session = try InferenceSession(model: model, capacity: 64, rotary: InferenceSession.defaultRotary(full), precision: .float32,
                                           cacheTypes: .f32)
        let logits = try session.feed(tokens)
        let ours = Ops.crossEntropy(logits.slice(rows: 0..<63), targets: Array(tokens.dropFirst())).perRow.scalars
        #expect(Self.worst(ours, reference) > 0.1)
    }

    @Test("under a window of 150, decoding (several key slices) and 7-token steps equal one prefill of 400 tokens")
    func slidingWindowDecode() throws {
        var c = try ModelLoader.load(Self.directory("mistral-window")).model.configuration
        c.slidingWindow = 150
        let model = LlamaModel(configuration: c, parameters: LlamaParameters(randomFor: c, seed: 1))
        var generator = SeededGenerator(seed: 7)
        let tokens = (0..<400).map { _ in Int32.random(in: 0..<256, using: &generator) }
        func session() throws -> InferenceSession {
            try InferenceSession(model: model, capacity: 400, rotary: InferenceSession.defaultRotary(c), precision: .float32,
                                 cacheTypes: .f32)
        }
        let whole = try session().feed(tokens).scalars
        let stepped = try session()
        var rows = try stepped.feed(Array(tokens[0..<200])).scalars
        var start = 200
        for n in [1, 7, 1, 7] + [Int](repeating: 1, count: 184) {
            rows += try stepped.feed(Array(tokens[start..<(start + n)])).scalars
            start += n
        }
        #expect(start == 400)
        let worst = zip(rows, whole).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-4, "decode vs prefill under the window: \(worst)")
    }

    @Test("NLLs match the reference at every length, inference and tape", arguments: fixtures)
    func nll(name: String) throws {
        let loaded = try ModelLoader.load(Self.directory(name))
        let golden = try Self.golden(name)
        let method = try loaded.positionalMethod().method
        let model = loaded.model
        for (key, reference) in golden.nll.sorted(by: { Int($0.key)! < Int($1.key)! }) {
            let n = Int(key)!
            let tokens = Array(golden.tokens.prefix(n))
            let targets = Array(tokens.dropFirst())
            let session = try InferenceSession(model: model, capacity: n, positional: method, precision: .float32,
                                               prefill: .single, cacheTypes: .f32)
            let logits = try session.feed(tokens)
            let ours = Ops.crossEntropy(logits.slice(rows: 0..<(n - 1)), targets: targets).perRow.scalars
            #expect(Self.worst(ours, reference) < 1e-4, "\(name) n = \(n): inference off by \(Self.worst(ours, reference))")

            let tape = Tape()
            let inputs = try method.inferenceInputs(positions: (0..<n).map(Float.init), contextLength: n, tape: tape)
            let tapeLogits = model.forward(tokens: tokens, weights: model.weights(on: tape, trainable: false), positions: inputs)
            let tapeNLL = Ops.crossEntropy(tapeLogits.value.slice(rows: 0..<(n - 1)), targets: targets).perRow.scalars
            #expect(Self.worst(tapeNLL, reference) < 1e-4, "\(name) n = \(n): tape off by \(Self.worst(tapeNLL, reference))")
        }
    }

    @Test("greedy continuation equals the reference's tokens", arguments: fixtures)
    func greedy(name: String) throws {
        let loaded = try ModelLoader.load(Self.directory(name))
        let golden = try Self.golden(name)
        let session = try InferenceSession(model: loaded.model, capacity: 64, positional: try loaded.positionalMethod().method,
                                           precision: .float32, prefill: .single, cacheTypes: .f32)
        var logits = try session.feed(golden.prompt, logits: .last)
        var generated: [Int32] = []
        for _ in golden.greedy.indices {
            let row = logits.scalars
            let next = Int32(row.indices.max { row[$0] < row[$1] }!)
            generated.append(next)
            logits = try session.feed([next], logits: .last)
        }
        #expect(generated == golden.greedy)
    }
}
