import CLEXModel
import CLEXTensor
import Foundation
import Testing

/// Tiny checkpoints of each family written by the real reference (scripts/make-family-fixtures.py:
/// Phi-2 and Mixtral with CLEX from the CLEX reference's own classes, GPT-NeoX parallel and
/// sequential and Mistral from transformers 4.36.2, Qwen2 from 4.46.3), loaded as stored and run by both backends:
///
/// - token-level NLLs of one forward over the first n tokens (the reference's one rotation per
///   call; for CLEX t = ⌈n / L⌉ with L = 16, so n > 16 exercises t > 1) within 1e-4 relative,
///   from the inference session (prefill `.single`) and from the tape forward;
/// - greedy continuations (prompt in one call, then a token per call) equal token for token.
@Suite("families: golden NLLs and greedy tokens from the PyTorch reference")
struct FamilyGoldenTests {
    static let fixtures = ["phi2-clex", "mixtral-clex", "gptneox", "gptneox-sequential", "mistral", "qwen2"]

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
                                                     "gptneox-sequential": .gptNeoX, "mistral": .mistral, "qwen2": .qwen2]
        #expect(c.architecture == expected[name])
        #expect(c.rotaryDimension == ["phi2-clex": 8, "mixtral-clex": 16, "gptneox": 4, "gptneox-sequential": 4, "mistral": 16,
                                        "qwen2": 16][name])
        #expect(c.parallelResidual == (name == "phi2-clex" || name == "gptneox"))
    }

    @Test("a context past Mistral's sliding window is refused, naming it; up to it, attention is exact")
    func slidingWindow() throws {
        var text = try String(contentsOfFile: Self.directory("mistral") + "/config.json", encoding: .utf8)
        text = text.replacingOccurrences(of: "\"sliding_window\": 4096", with: "\"sliding_window\": 32")
        let c = try LlamaConfiguration(hfConfig: Data(text.utf8), source: "config.json")
        #expect(c.slidingWindow == 32)
        let model = LlamaModel(configuration: c, parameters: LlamaParameters(randomFor: c, seed: 1))
        _ = try InferenceSession(model: model, capacity: 32, rotary: InferenceSession.defaultRotary(c))
        #expect(throws: ModelLoadError.self) { _ = try InferenceSession(model: model, capacity: 33, rotary: InferenceSession.defaultRotary(c)) }
        do {
            _ = try InferenceSession(model: model, capacity: 33, rotary: InferenceSession.defaultRotary(c))
        } catch {
            #expect("\(error)".contains("sliding_window 32"), "\(error)")
        }
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
