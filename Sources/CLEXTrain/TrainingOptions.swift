/// Everything that shapes a training run besides the model, the data and the positional method.
/// Saved in every checkpoint; `--resume` refuses a checkpoint whose options differ in anything
/// that would change the run (`resumeSignature`).
public struct TrainingOptions: Codable, Sendable, Equatable {
    /// The project's defaults or the PyTorch reference's recipe (`TrainingRecipe`).
    public var recipe = TrainingRecipe.standard
    /// Tokens per training sequence (N).
    public var sequenceLength = 256
    /// Sequences per micro-batch.
    public var batchSize = 8
    /// Micro-batches per optimiser step (gradient accumulation).
    public var accumulation = 1
    /// Optimiser steps of the run.
    public var steps = 1000
    public var learningRate: Float = 1e-3
    public var warmupSteps = 50
    public var schedule: LearningRateSchedule.Shape = .cosine
    public var minimumLearningRateFraction: Float = 0.1
    /// Learning rate of the positional method's own parameters (CLEX's U and D); nil: the same.
    public var positionalLearningRate: Float?
    public var weightDecay: Float = 0.1
    public var beta1: Float = 0.9
    public var beta2: Float = 0.95
    /// Global gradient-norm clip (0: none).
    public var clipNorm: Float = 1
    public var seed: UInt64 = 1
    /// Validation loss every this many steps (0: never), over `validationBatches` batches.
    public var validateEvery = 100
    public var validationBatches = 4
    /// Checkpoint every this many steps (and at the end); the newest `keepCheckpoints` stay.
    public var checkpointEvery = 100
    public var keepCheckpoints = 2
    /// Parts that do not train: "embeddings", "attention", "mlp", "norms", "positional".
    public var frozen: [String] = []

    public init() {}

    /// The defaults of `recipe` for a run of `steps` optimiser steps (learning rate, warm-up,
    /// schedule floor, AdamW's β₂ and weight decay).
    public init(recipe: TrainingRecipe, steps: Int = 1000) {
        self.recipe = recipe
        self.steps = steps
        learningRate = recipe.learningRate
        warmupSteps = recipe.warmupSteps(steps: steps)
        minimumLearningRateFraction = recipe.minimumLearningRateFraction
        beta2 = recipe.beta2
        weightDecay = recipe.weightDecay
    }

    /// Decodes saved options; a field the file lacks (written by an earlier version) keeps its
    /// default, so older checkpoints stay readable.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        try read(.recipe, &recipe)
        try read(.sequenceLength, &sequenceLength)
        try read(.batchSize, &batchSize)
        try read(.accumulation, &accumulation)
        try read(.steps, &steps)
        try read(.learningRate, &learningRate)
        try read(.warmupSteps, &warmupSteps)
        try read(.schedule, &schedule)
        try read(.minimumLearningRateFraction, &minimumLearningRateFraction)
        positionalLearningRate = try c.decodeIfPresent(Float.self, forKey: .positionalLearningRate)
        try read(.weightDecay, &weightDecay)
        try read(.beta1, &beta1)
        try read(.beta2, &beta2)
        try read(.clipNorm, &clipNorm)
        try read(.seed, &seed)
        try read(.validateEvery, &validateEvery)
        try read(.validationBatches, &validationBatches)
        try read(.checkpointEvery, &checkpointEvery)
        try read(.keepCheckpoints, &keepCheckpoints)
        try read(.frozen, &frozen)
    }

    /// The fields that must agree for a resumed run to continue the same run (steps, logging
    /// and checkpoint cadence may change).
    public var resumeSignature: [String: String] {
        ["recipe": recipe.rawValue, "sequenceLength": "\(sequenceLength)", "batchSize": "\(batchSize)", "accumulation": "\(accumulation)",
         "learningRate": "\(learningRate)", "warmupSteps": "\(warmupSteps)", "schedule": schedule.rawValue,
         "positionalLearningRate": "\(positionalLearningRate.map { "\($0)" } ?? "same")",
         "weightDecay": "\(weightDecay)", "beta1": "\(beta1)", "beta2": "\(beta2)", "clipNorm": "\(clipNorm)",
         "seed": "\(seed)", "frozen": frozen.sorted().joined(separator: ",")]
    }

    /// Checks the values; errors name the option.
    public func validate() throws {
        func fail(_ key: String, _ problem: String) -> TrainingError { .invalidOption(key, problem) }
        if sequenceLength < 2 { throw fail("sequence-length", "must be at least 2, got \(sequenceLength)") }
        if batchSize < 1 { throw fail("batch-size", "must be at least 1, got \(batchSize)") }
        if accumulation < 1 { throw fail("accumulation", "must be at least 1, got \(accumulation)") }
        if steps < 1 { throw fail("steps", "must be at least 1, got \(steps)") }
        if !(learningRate > 0 && learningRate.isFinite) { throw fail("lr", "must be a positive number, got \(learningRate)") }
        if let p = positionalLearningRate, !(p >= 0 && p.isFinite) { throw fail("positional-lr", "must be ≥ 0, got \(p)") }
        if positionalLearningRate != nil && recipe == .reference {
            throw fail("positional-lr", "the reference recipe trains every parameter with one learning rate (--lr); drop --positional-lr or use --recipe standard")
        }
        if warmupSteps < 0 { throw fail("warmup", "must be ≥ 0, got \(warmupSteps)") }
        if !(weightDecay >= 0) { throw fail("weight-decay", "must be ≥ 0, got \(weightDecay)") }
        if !(clipNorm >= 0) { throw fail("clip", "must be ≥ 0, got \(clipNorm)") }
        if checkpointEvery < 1 { throw fail("checkpoint-every", "must be at least 1, got \(checkpointEvery)") }
        if keepCheckpoints < 1 { throw fail("keep", "must be at least 1, got \(keepCheckpoints)") }
        let parts: Set<String> = ["embeddings", "attention", "mlp", "norms", "positional"]
        for f in frozen where !parts.contains(f) {
            throw fail("freeze", "unknown part '\(f)' (known: \(parts.sorted().joined(separator: ", ")))")
        }
    }
}

/// Why a run stopped or could not start.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidOption(String, String)
    case nonFinite(step: Int, what: String, lastCheckpoint: String?)
    case resumeRefused(String)
    /// Token ids the model cannot embed: (which set, the id, the vocabulary size).
    case tokenOutsideVocabulary(set: String, id: Int32, vocabulary: Int)
    /// The process is exiting (interrupted); no new checkpoint is started.
    case stopping

    public var description: String {
        switch self {
        case .invalidOption(let key, let problem): return "--\(key): \(problem)"
        case .nonFinite(let step, let what, let last):
            return "step \(step): \(what) is not finite; training stopped. "
                + (last.map { "The last good checkpoint, \($0), is intact: resume from it with a lower learning rate." }
                   ?? "No checkpoint was written yet.")
        case .resumeRefused(let why): return "cannot resume: \(why)"
        case .tokenOutsideVocabulary(let set, let id, let v):
            return "the \(set) tokens hold id \(id), outside the model's vocabulary 0..<\(v) (a tokenizer of another model?)"
        case .stopping: return "stopping: no checkpoint is started while the program exits"
        }
    }
}
