import CLEXEval
import CLEXModel
import CLEXTensor
import CLEXTokenizer
import Foundation
import Testing

@Suite("passkey retrieval") struct PasskeyTests {
    @Test("the prompt for X = 1, Y = 1 is evaluation.md's five lines joined by \\n")
    func promptText() {
        let expected = [
            "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you about the important information there.",
            "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.",
            "The pass key is 12345. Remember it. 12345 is the pass key.",
            "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.",
            "What is the pass key? The pass key is",
        ].joined(separator: "\n")
        #expect(RetrievalPrompt.passkey(key: 12345, before: 1, after: 1) == expected)
        // X repetitions are joined by spaces on one line; X = 0 leaves that line empty.
        let f = RetrievalPrompt.filler
        let lines = RetrievalPrompt.passkey(key: 7, before: 2, after: 0).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 5 && lines[1] == "\(f) \(f)" && lines[3].isEmpty)
        #expect(RetrievalPrompt.fillerText(words: 21) == f + " The grass")
    }

    @Test("the answer is the first integer of the output; none means wrong")
    func answers() {
        #expect(AnswerParser.firstInteger(in: " 12345.\nThe grass") == 12345)
        #expect(AnswerParser.firstInteger(in: " is 0042, not 7") == 42)
        #expect(AnswerParser.firstInteger(in: "abc12def34") == 12)
        #expect(AnswerParser.firstInteger(in: " the pass key.") == nil)
        #expect(AnswerParser.firstInteger(in: "") == nil)
        #expect(AnswerParser.firstInteger(in: String(repeating: "9", count: 40)) == nil)
    }

    @Test("the prompt-length search lands within a word of the target (byte tokenizer)", arguments: [300, 1000, 4000])
    func lengthSearch(target: Int) throws {
        let search = PromptLengthSearch(tokenizer: ByteTokenizer())
        let task = try RetrievalTask(needles: 1, seed: 9)
        for depth in [0.0, 0.5, 1.0] {
            let item = task.item(length: target, depth: depth, trial: 0, search: search)
            #expect(item.tokens.count <= target && item.tokens.count >= target - 8, "\(item.tokens.count) for \(target)")
            #expect(item.tokens == ByteTokenizer().encode(item.text, addSpecial: true))
            #expect(item.expected >= 1 && item.expected <= 50000)
            #expect(item.text.contains(RetrievalPrompt.passkeyLine(item.expected)))
            // The needle sits at the asked depth of the filler.
            let lines = item.text.split(separator: "\n", omittingEmptySubsequences: false)
            let before = lines[1].split(separator: " ").count
            #expect(abs(Double(before) - depth * Double(item.fillerWords)) <= 0.5)
        }
        #expect(task.item(length: target, depth: 0.5, trial: 3, search: search).text
                == task.item(length: target, depth: 0.5, trial: 3, search: search).text)
        #expect(task.item(length: target, depth: 0.5, trial: 3, search: search).expected
                != task.item(length: target, depth: 0.5, trial: 4, search: search).expected)
    }

    @Test("key-value retrieval: N needles, the question asks for the one at the swept depth")
    func keyValue() throws {
        let task = try RetrievalTask(needles: 4, seed: 2)
        let item = task.item(length: 2000, depth: 0.25, trial: 1, search: PromptLengthSearch(tokenizer: ByteTokenizer()))
        let lines = item.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let needles = lines.filter { $0.hasPrefix("The value of key ") }
        #expect(needles.count == 4)
        let asked = try #require(needles.first { $0.hasSuffix(" is \(item.expected).") })
        let word = asked.dropFirst("The value of key ".count).split(separator: " ")[0]
        #expect(lines.last == RetrievalPrompt.keyValueQuestion(key: String(word)))
        #expect(throws: EvaluationError.self) { try RetrievalTask(needles: 0) }
        #expect(task.name == "key-value retrieval (4 needles)")
    }

    @Test("a run on a tiny model records every trial, its output and parsed answer, and accuracy per cell")
    func tinyRun() throws {
        let model = tinyModel(vocabulary: 257, context: 256)
        let methods = [
            EvaluationMethod(name: "rope") { try method(model) },
            EvaluationMethod(name: "clex T=2") { try method(model, .clex(CLEXParameters(maxFactor: 2)), context: 200) },
        ]
        let run = PasskeyRun(model: model, tokenizer: ByteTokenizer(), methods: methods, lengths: [300, 600], depths: [0, 1],
                             trials: 2, task: try RetrievalTask(seed: 1), maxNewTokens: 4, feedLimit: 64)
        var events = 0
        let report = try run.run { _ in events += 1 }
        #expect(events > 0)
        #expect(report.trials.count == 2 * 2 * 2 * 2)
        #expect(report.cells.count == 2 * 2 * 2)
        for t in report.trials where t.failure == nil {
            #expect(t.promptTokens <= t.length && t.promptTokens >= t.length - 8)
            #expect(t.answer == AnswerParser.firstInteger(in: t.output) && t.correct == (t.answer == t.expected))
        }
        // CLEX with T·L = 400 serves 300 tokens but not 600: those cells are n/a.
        let refused = try #require(report.cell(method: "clex T=2", length: 600, depth: 0))
        #expect(refused.accuracy == nil && refused.failure?.contains("CLEX") == true)
        #expect(report.cell(method: "clex T=2", length: 300, depth: 0)?.trials == 2)
        #expect(report.cell(method: "rope", length: 600, depth: 1)?.trials == 2)
        #expect(report.table().contains("[clex T=2]") && report.table().contains("n/a (CLEX"))
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try report.save(to: dir)
        let decoded = try ReportFile.decoder().decode(PasskeyReport.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/passkey.json")))
        #expect(decoded == report)
        #expect(XMLSummary.parse(try String(contentsOfFile: dir + "/passkey.svg", encoding: .utf8)) != nil)
    }

    @Test("under single prefill a prompt is one forward: the answer of one feed of the whole prompt, no pieces")
    func singlePrefill() throws {
        let model = tinyModel(vocabulary: 257, context: 256)
        let clex = try method(model, .clex(CLEXParameters(maxFactor: 8)), context: 64)
        let task = try RetrievalTask(seed: 1)
        let run = PasskeyRun(model: model, tokenizer: ByteTokenizer(), methods: [EvaluationMethod(name: "clex") { clex }],
                             lengths: [300], depths: [0.5], trials: 1, task: task, maxNewTokens: 6, feedLimit: 64, prefill: .single)
        var events = 0
        let report = try run.run { _ in events += 1 }
        #expect(events == 1, "one progress event for the whole trial: the prompt is not fed in pieces of 64")
        let trial = try #require(report.trials.first)
        #expect(trial.failure == nil)

        let item = task.item(length: 300, depth: 0.5, trial: 0, search: PromptLengthSearch(tokenizer: ByteTokenizer()))
        let session = try InferenceSession(model: model, capacity: item.tokens.count + 6, positional: clex, prefill: .single)
        var generator = Generator(session: session, tokenizer: ByteTokenizer(), sampler: Sampler())
        #expect(try generator.generate(prompt: item.tokens, maxTokens: 6).text == trial.output)
    }

    @Test("k_max is the longest length with ≥ 20% success at every depth")
    func kMax() {
        func cell(_ n: Int, _ d: Double, _ correct: Int, trials: Int = 5) -> PasskeyCell {
            PasskeyCell(method: "m", length: n, depth: d, trials: trials, correct: correct, meanPromptTokens: 0, failure: nil)
        }
        let cells = [cell(1, 0, 5), cell(1, 1, 5), cell(2, 0, 1), cell(2, 1, 1), cell(4, 0, 5), cell(4, 1, 0),
                     cell(8, 0, 1), cell(8, 1, 2)]
        #expect(PasskeyReport.kMax(method: "m", lengths: [1, 2, 4, 8], depths: [0, 1], cells: cells) == 8)
        #expect(PasskeyReport.kMax(method: "m", lengths: [1, 2, 4], depths: [0, 1], cells: cells) == 2)
        #expect(PasskeyReport.kMax(method: "m", lengths: [4], depths: [0, 1], cells: cells) == nil)
        #expect(PasskeyReport.kMax(method: "m", lengths: [16], depths: [0], cells: [cell(16, 0, 0, trials: 0)]) == nil)
    }

    @Test("a length shorter than the shortest prompt is refused, not reported as that length")
    func lengthBelowThePrompt() throws {
        let model = tinyModel(vocabulary: 257, context: 256)
        let run = PasskeyRun(model: model, tokenizer: ByteTokenizer(), methods: [EvaluationMethod(name: "rope") { try method(model) }],
                             lengths: [2], depths: [0], trials: 1, task: try RetrievalTask(seed: 1), maxNewTokens: 2, feedLimit: 64)
        #expect(throws: EvaluationError.self) { try run.run() }
    }
}
