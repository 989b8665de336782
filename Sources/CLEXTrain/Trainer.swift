import CLEXModel
import CLEXTensor
import Foundation

/// What the trainer reports after each step (for progress lines and the JSONL log).
public struct TrainingEvent: Codable, Sendable {
    public var step: Int
    public var loss: Double
    public var learningRate: Float
    /// Global norm of the model weights' gradients (before clipping); under the reference recipe,
    /// of every gradient, CLEX's U and D included.
    public var gradientNorm: Double
    /// Norm of the positional method's parameter gradients (CLEX's U, D), clipped separately
    /// (standard recipe only).
    public var positionalGradientNorm: Double?
    public var tokensPerSecond: Double
    public var elapsedSeconds: Double
    public var etaSeconds: Double
    /// CLEX's drawn length factors of the step's micro-batches (1 for other methods).
    public var lengthFactors: [Int]
    public var validationLoss: Double?
    public var checkpoint: String?
}

/// Trains a LLaMA model (every weight, plus the positional method's own parameters such as
/// CLEX's U and D) on next-token prediction with AdamW, gradient accumulation and clipping,
/// seeded and resumable exactly from its checkpoints.
public final class Trainer {
    public private(set) var model: LlamaModel
    public let positional: any PositionalMethod
    public let options: TrainingOptions
    public private(set) var batcher: ChunkBatcher
    let validation: [Int32]
    let output: String?
    var optimizer: AdamW
    var generator: SeededGenerator
    /// Optimiser steps completed.
    public private(set) var step = 0
    let schedule: LearningRateSchedule
    public private(set) var lastCheckpoint: String?

    /// A trainer starting at step 0. The model is kept in HF's rotate_half layout, as it is saved.
    /// `output` (a directory) receives checkpoints and `log.jsonl`; nil keeps everything in memory.
    public init(model: LlamaModel, positional: any PositionalMethod, training: [Int32], validation: [Int32],
                options: TrainingOptions, output: String?) throws {
        try options.validate()
        // Ids past the embedding (a tokenizer of another model) would trap in the embedding and
        // the cross-entropy of the first step.
        let v = model.configuration.vocabularySize
        for (set, tokens) in [("training", training), ("validation", validation)] {
            if let bad = tokens.first(where: { $0 < 0 || Int($0) >= v }) {
                throw TrainingError.tokenOutsideVocabulary(set: set, id: bad, vocabulary: v)
            }
        }
        // Float32 weights, gradients and AdamW's two moments: 16 bytes per parameter at least.
        try MemoryBudget.require(16 * model.configuration.parameterCount,
                                 for: "training \(model.configuration.parameterCount) parameters (weights, gradients, AdamW moments)")
        // Own Float32 copy of the weights (dequantised once from a quantised checkpoint): the
        // optimiser updates them in place.
        var own = model.withRotaryLayout(.rotateHalf)
        own.parameters = own.parameters.floatCopy()
        self.model = own
        self.positional = positional
        self.options = options
        self.batcher = try ChunkBatcher(stream: training, length: options.sequenceLength, seed: options.seed,
                                        chunking: options.recipe.chunking)
        if options.recipe == .reference, let clex = positional as? CLEXPositional { clex.lastTrainingPosition = .reference }
        self.validation = validation
        self.output = output
        optimizer = AdamW(beta1: options.beta1, beta2: options.beta2, weightDecay: options.weightDecay)
        generator = SeededGenerator(seed: options.seed ^ 0x5EED_CAFE)
        schedule = LearningRateSchedule(peak: options.learningRate, warmupSteps: options.warmupSteps,
                                        totalSteps: options.steps, shape: options.schedule,
                                        minimumFraction: options.minimumLearningRateFraction,
                                        countsFromZero: options.recipe == .reference)
    }

    /// Runs until `options.steps`, calling `onEvent` after every step.
    public func run(onEvent: (TrainingEvent) throws -> Void = { _ in }) throws {
        let clock = ContinuousClock()
        let start = clock.now
        let firstStep = step
        while step < options.steps {
            var event = try trainStep()
            let elapsed = (clock.now - start).seconds
            let done = step - firstStep
            event.elapsedSeconds = elapsed
            event.tokensPerSecond = Double(done * tokensPerStep) / max(elapsed, 1e-9)
            event.etaSeconds = elapsed / Double(done) * Double(options.steps - step)
            if options.validateEvery > 0 && (step % options.validateEvery == 0 || step == options.steps) && !validation.isEmpty {
                event.validationLoss = try validationLoss()
            }
            // The log line goes first: killed between the two, the run resumes from the previous
            // checkpoint and logs this step again, whereas a checkpoint without its line would
            // leave the step out of the log for good.
            let saving = step % options.checkpointEvery == 0 || step == options.steps
            if let output, saving { event.checkpoint = TrainingCheckpoint.directory(step: step, in: output) }
            if let output { try TrainingLog.append(event, to: output) }
            if let output, saving { lastCheckpoint = try TrainingCheckpoint.save(self, to: output) }
            try onEvent(event)
        }
    }

    /// Tokens consumed by one optimiser step.
    public var tokensPerStep: Int { options.sequenceLength * options.batchSize * options.accumulation }

    /// One optimiser step over `accumulation` micro-batches, without validation, checkpoint or
    /// log (`run` adds those); the event's timing fields are zero.
    public func trainStep() throws -> TrainingEvent {
        let c = model.configuration
        let slots = CheckpointNames.slots(for: c).filter(isTrainable)
        var gradients: [CheckpointNames.Slot: Tensor] = [:]
        var positionalGradients: [String: Tensor] = [:]
        var lossSum = 0.0
        var factors: [Int] = []
        let nextStep = step + 1
        for _ in 0..<options.accumulation {
            let (inputs, targets) = batcher.next(batch: options.batchSize)
            let tape = Tape()
            let weights = model.weights(on: tape, trainable: true)
            let placed = try positional.training(sequenceLength: options.sequenceLength, tape: tape, generator: &generator)
            factors.append(placed.lengthFactor)
            let logits = model.forward(tokens: inputs, batch: options.batchSize, weights: weights, positions: placed.inputs)
            let loss = logits.crossEntropy(targets: targets)
            let value = Double(loss.value.item)
            guard value.isFinite else {
                throw TrainingError.nonFinite(step: nextStep, what: "the loss (\(value))", lastCheckpoint: lastCheckpoint)
            }
            lossSum += value
            tape.backward(options.accumulation == 1 ? loss : loss.scaled(by: 1 / Float(options.accumulation)))
            for slot in slots {
                guard let g = tape.gradient(weights[slot]!) else { continue }
                if let sum = gradients[slot] { Ops.addInPlace(sum, g) } else { gradients[slot] = options.accumulation == 1 ? g : g.copy() }
            }
            if !options.frozen.contains("positional") {
                for (name, v) in placed.parameters {
                    guard let g = tape.gradient(v) else { continue }
                    if let sum = positionalGradients[name] { Ops.addInPlace(sum, g) } else { positionalGradients[name] = g.copy() }
                }
            }
        }
        // Standard recipe: the positional parameters are clipped on their own — CLEX's gradients
        // reach θ through angles p·θ with p up to T·L, so their norm is orders of magnitude above
        // the model's (spec §7) and one global clip would starve the model of updates. The
        // reference recipe clips everything together (HF Trainer's max_grad_norm), and reports
        // that one norm.
        // Fixed summation orders (slot order, sorted names): a dictionary's order changes from one
        // process to the next (per-process hash seeds), and with it the norm's last bits.
        let modelGradients = slots.compactMap { gradients[$0] }
        let sortedPositional = positionalGradients.sorted { $0.key < $1.key }.map(\.value)
        let separate = options.recipe == .standard
        let norm = clipGradients(separate ? modelGradients : modelGradients + sortedPositional, maxNorm: options.clipNorm)
        let positionalNorm = separate ? clipGradients(sortedPositional, maxNorm: options.clipNorm) : 0
        guard norm.isFinite else {
            throw TrainingError.nonFinite(step: nextStep, what: "the gradient norm (\(norm))", lastCheckpoint: lastCheckpoint)
        }
        guard positionalNorm.isFinite else {
            throw TrainingError.nonFinite(step: nextStep, what: "the positional gradient norm (\(positionalNorm))",
                                          lastCheckpoint: lastCheckpoint)
        }
        let lr = schedule.rate(forUpdate: nextStep)
        optimizer.beginStep()
        for slot in slots {
            guard let g = gradients[slot] else { continue }
            let name = CheckpointNames.name(slot, .huggingFace, c.architecture)
            optimizer.update(name, parameter: model.parameters[slot]!.floatTensor!, gradient: g, lr: lr,
                             decay: CheckpointNames.role(slot) == .matrix)
        }
        if !positionalGradients.isEmpty {
            let plr = lr * (options.positionalLearningRate ?? options.learningRate) / options.learningRate
            let learned = positional.learnedParameters
            for (name, g) in positionalGradients.sorted(by: { $0.key < $1.key }) {
                guard let current = learned[name] else { continue }
                let updated = current.copy()
                optimizer.update(name, parameter: updated, gradient: g, lr: plr, decay: false)
                try positional.setLearnedParameter(name, to: updated)
            }
        }
        step = nextStep
        return TrainingEvent(step: step, loss: lossSum / Double(options.accumulation), learningRate: lr,
                             gradientNorm: norm, positionalGradientNorm: positionalGradients.isEmpty || !separate ? nil : positionalNorm,
                             tokensPerSecond: 0, elapsedSeconds: 0, etaSeconds: 0,
                             lengthFactors: factors, validationLoss: nil, checkpoint: nil)
    }

    /// Mean next-token loss over the first `validationBatches` batches of the validation text,
    /// read with the method's inference rotation at the training length.
    public func validationLoss() throws -> Double {
        let n = options.sequenceLength
        let examples = min((validation.count - 1) / n, options.validationBatches * options.batchSize)
        guard examples > 0 else { return .nan }
        var total = 0.0
        var count = 0
        for e in 0..<examples {
            let window = Array(validation[(e * n)..<(e * n + n + 1)])
            let tape = Tape()
            let inputs = try positional.inferenceInputs(positions: (0..<n).map(Float.init), contextLength: n, tape: tape)
            let logits = model.forward(tokens: Array(window.dropLast()), weights: model.weights(on: tape, trainable: false),
                                       positions: inputs)
            let result = Ops.crossEntropy(logits.value, targets: Array(window.dropFirst()))
            total += Double(result.loss.item) * Double(result.count)
            count += result.count
        }
        return total / Double(count)
    }


    func isTrainable(_ slot: CheckpointNames.Slot) -> Bool {
        let part: String
        switch slot {
        case .embedding, .outputHead, .outputHeadBias: part = "embeddings"
        case .finalNorm, .finalNormBias: part = "norms"
        case .layer(_, let s):
            switch s {
            case .attentionNorm, .attentionNormBias, .mlpNorm, .mlpNormBias: part = "norms"
            case .query, .queryBias, .key, .keyBias, .value, .valueBias, .output, .outputBias: part = "attention"
            case .gate, .up, .upBias, .down, .downBias, .router, .expertGate, .expertUp, .expertDown: part = "mlp"
            }
        }
        return !options.frozen.contains(part)
    }

    /// Restores the state a checkpoint saved (used by `TrainingCheckpoint.resume`).
    func restore(step: Int, cursor: ChunkBatcher.Cursor, generator: SeededGenerator, optimizer: AdamW,
                 parameters: LlamaParameters, checkpoint: String) {
        self.step = step
        batcher.cursor = cursor
        self.generator = generator
        self.optimizer = optimizer
        model.parameters = parameters.floatCopy()
        lastCheckpoint = checkpoint
    }
}
