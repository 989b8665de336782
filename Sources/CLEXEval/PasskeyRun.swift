import CLEXModel
import CLEXTokenizer
import Foundation

/// A retrieval evaluation: for every method, length, depth and trial, the prompt of
/// `RetrievalTask` (the same prompts for every method) is read into a fresh session in pieces
/// of at most `feedLimit` tokens — all but its last token, whose logits `Generator` then uses —
/// and up to `maxNewTokens` tokens are generated greedily (`Sampler()`); the answer is the first
/// integer of the output. Under `single` prefill the whole prompt is one forward instead, as the
/// reference's `model.generate(input_ids)` reads it. A method that cannot be made or cannot
/// serve a length gives "n/a" cells.
public struct PasskeyRun {
    /// The model (its weights; the positional method comes from each `EvaluationMethod`).
    public var model: LlamaModel
    /// The tokenizer of prompts and outputs.
    public var tokenizer: any Tokenizer
    /// Methods, in table order.
    public var methods: [EvaluationMethod]
    /// Target prompt lengths in tokens.
    public var lengths: [Int]
    /// Depths of the asked needle, each in 0 … 1.
    public var depths: [Double]
    /// Trials per (length, depth) cell.
    public var trials: Int
    /// Which task (passkey or key–value) and its seed.
    public var task: RetrievalTask
    /// Tokens generated per trial (greedy).
    public var maxNewTokens: Int
    /// Prompt tokens per `feed` call (under `split` prefill).
    public var feedLimit: Int
    /// The rotation prompts are read with: ours (`split`) or the reference's `single`.
    public var prefill: PrefillRotation
    /// Name of the checkpoint, for the report.
    public var modelName: String
    /// Element types of the sessions' KV caches.
    public var cacheTypes: KVCacheTypes

    /// A run; see the properties.
    public init(model: LlamaModel, tokenizer: any Tokenizer, methods: [EvaluationMethod], lengths: [Int],
                depths: [Double], trials: Int, task: RetrievalTask, maxNewTokens: Int = 10, feedLimit: Int = 1024,
                prefill: PrefillRotation = .split, modelName: String = "model", cacheTypes: KVCacheTypes = .f16) {
        self.cacheTypes = cacheTypes
        self.model = model
        self.tokenizer = tokenizer
        self.methods = methods
        self.lengths = lengths
        self.depths = depths
        self.trials = trials
        self.task = task
        self.maxNewTokens = maxNewTokens
        self.feedLimit = feedLimit
        self.prefill = prefill
        self.modelName = modelName
    }

    /// Checks the settings.
    public func validate() throws {
        guard !methods.isEmpty else { throw EvaluationError("no positional method to evaluate") }
        guard !lengths.isEmpty else { throw EvaluationError("no length to evaluate") }
        if let bad = lengths.first(where: { $0 < 2 }) { throw EvaluationError("a length must be at least 2 tokens, got \(bad)") }
        guard !depths.isEmpty else { throw EvaluationError("no depth to evaluate") }
        if let bad = depths.first(where: { !($0 >= 0 && $0 <= 1) }) { throw EvaluationError("a depth must lie in 0 … 1, got \(bad)") }
        guard trials >= 1 else { throw EvaluationError("the number of trials must be at least 1, got \(trials)") }
        guard maxNewTokens >= 1 else { throw EvaluationError("at least one token must be generated, got \(maxNewTokens)") }
        guard feedLimit >= 1 else { throw EvaluationError("the feed limit must be at least 1 token, got \(feedLimit)") }
    }

    /// Runs every trial; `progress` is called after every fed piece and generation. When
    /// `shouldStop` answers true (asked after every fed piece), the trial in progress and those
    /// after it are not run, their cells say so and the report is marked partial.
    public func run(progress: (EvaluationProgress) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws -> PasskeyReport {
        try validate()
        // Before the prompts are built (tokenizing filler for a length of millions of tokens ran
        // silently for minutes, then could not fit anyway).
        let longest = lengths.max()! + maxNewTokens
        try ContextMemory(model.configuration, cacheTypes: cacheTypes).require(longest)
        let search = PromptLengthSearch(tokenizer: tokenizer)
        var items: [Int: [[RetrievalItem]]] = [:]   // length → depth → trial
        for n in lengths {
            var perDepth: [[RetrievalItem]] = []
            for d in depths {
                var perTrial: [RetrievalItem] = []
                for trial in 0..<trials {
                    // building a long prompt takes seconds (a dozen tokenizations): a stop here
                    // leaves every cell not run
                    if shouldStop() { return notRun() }
                    perTrial.append(task.item(length: n, depth: d, trial: trial, search: search))
                }
                perDepth.append(perTrial)
            }
            items[n] = perDepth
            if let shortest = items[n]!.joined().map(\.tokens.count).min(), shortest > n {
                throw EvaluationError("a \(task.name) prompt needs at least \(shortest) tokens (no filler), more than the length \(n); "
                                      + "give lengths ≥ \(shortest)")
            }
        }
        let perMethod = items.values.joined().joined().reduce(0) { $0 + $1.tokens.count + maxNewTokens }
        let total = perMethod * methods.count
        let clock = ContinuousClock()
        let started = clock.now
        func elapsed() -> Double {
            let d = clock.now - started
            return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        var done = 0
        var cells: [PasskeyCell] = []
        var log: [PasskeyTrial] = []
        var stopped = false
        for method in methods {
            for n in lengths {
                var positional: (any PositionalMethod)?
                var methodFailure: String?
                do {
                    let made = try method.make()
                    _ = try made.inference(contextLength: n)
                    positional = made
                } catch {
                    methodFailure = String(describing: error)
                }
                for (di, d) in depths.enumerated() {
                    var cell = PasskeyCell(method: method.name, length: n, depth: d, trials: 0, correct: 0,
                                           meanPromptTokens: 0, failure: methodFailure)
                    var promptTokens = 0
                    for (t, item) in items[n]![di].enumerated() {
                        var record = PasskeyTrial(method: method.name, length: n, depth: d, trial: t,
                                                  promptTokens: item.tokens.count, expected: item.expected,
                                                  output: "", answer: nil, correct: false, failure: methodFailure)
                        if stopped {
                            record.failure = notRunBecauseInterrupted
                            cell.failure = cell.failure ?? record.failure
                        } else if let positional {
                            do {
                                record.output = try generate(item.tokens, positional: positional) { fed in
                                    if shouldStop() { throw EvaluationStopped() }
                                    progress(EvaluationProgress(method: method.name, length: n, item: di * trials + t + 1,
                                                                items: depths.count * trials, itemName: "trial",
                                                                tokensDone: done + fed, tokensTotal: total, elapsed: elapsed()))
                                }
                                record.answer = AnswerParser.firstInteger(in: record.output)
                                record.correct = record.answer == item.expected
                                cell.trials += 1
                                cell.correct += record.correct ? 1 : 0
                                promptTokens += item.tokens.count
                            } catch is EvaluationStopped {
                                stopped = true
                                record.failure = notRunBecauseInterrupted
                                cell.failure = cell.failure ?? record.failure
                            } catch {
                                record.failure = String(describing: error)
                                cell.failure = cell.failure ?? record.failure
                            }
                        }
                        done += item.tokens.count + maxNewTokens
                        log.append(record)
                    }
                    cell.meanPromptTokens = cell.trials > 0 ? Double(promptTokens) / Double(cell.trials) : 0
                    if cell.trials > 0 { cell.failure = nil }
                    cells.append(cell)
                }
            }
        }
        return report(cells: cells, trials: log, partial: stopped)
    }

    /// The partial report of a run stopped before its first trial: every cell not run.
    private func notRun() -> PasskeyReport {
        var cells: [PasskeyCell] = []
        for method in methods {
            for n in lengths {
                for d in depths {
                    cells.append(PasskeyCell(method: method.name, length: n, depth: d, trials: 0, correct: 0,
                                             meanPromptTokens: 0, failure: notRunBecauseInterrupted))
                }
            }
        }
        return report(cells: cells, trials: [], partial: true)
    }

    /// The report of `cells` and `trials`, with each method's k_max.
    private func report(cells: [PasskeyCell], trials log: [PasskeyTrial], partial: Bool) -> PasskeyReport {
        let limits = methods.map { PasskeyLimit(method: $0.name, kMax: PasskeyReport.kMax(method: $0.name, lengths: lengths, depths: depths, cells: cells)) }
        var report = PasskeyReport(model: modelName, task: task.name, needles: task.needles, lengths: lengths, depths: depths,
                                   trialsPerCell: trials, seed: task.seed, maxNewTokens: maxNewTokens, methods: methods.map(\.name),
                                   cells: cells, limits: limits, trials: log)
        if partial { report.partial = true }
        return report
    }

    /// The greedy continuation of `prompt` (at least one token) in a fresh session.
    func generate(_ prompt: [Int32], positional: any PositionalMethod, onFeed: (Int) throws -> Void) throws -> String {
        let session = try InferenceSession(model: model, capacity: prompt.count + maxNewTokens, positional: positional,
                                           prefill: prefill, cacheTypes: cacheTypes)
        // split: all but the last token in pieces, then the last through Generator; single: the
        // whole prompt through Generator, which reads it in one feed
        let head = prefill == .single ? 0 : prompt.count - 1
        var start = 0
        while start < head {
            let end = min(start + feedLimit, head)
            _ = try session.feed(Array(prompt[start..<end]), logits: .last)
            start = end
            try onFeed(end)
        }
        var generator = Generator(session: session, tokenizer: tokenizer, sampler: Sampler())
        let result = try generator.generate(prompt: Array(prompt[head...]), maxTokens: maxNewTokens)
        try onFeed(prompt.count + maxNewTokens)
        return result.text
    }
}
