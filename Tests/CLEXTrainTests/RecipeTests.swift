import CLEXModel
import CLEXTensor
import Foundation
import Testing
import CLEXTrain

/// The reference recipe's mechanics, each against PyTorch's / transformers' rule written out by hand.
@Suite("training recipes")
struct RecipeTests {
    @Test("AdamW counts bias correction per parameter: a first update at step 3 equals a fresh optimiser's first")
    func perParameterSteps() {
        let gradient = try! Tensor(shape: [3], values: [0.5, -2, 0.25])
        var late = AdamW(beta1: 0.9, beta2: 0.999, weightDecay: 0.1)
        let a = try! Tensor(shape: [3], values: [1, 2, 3])
        let b = try! Tensor(shape: [3], values: [1, 2, 3])
        for step in 1...3 {
            late.beginStep()
            late.update("a", parameter: a, gradient: gradient, lr: 0.01)
            if step == 3 { late.update("b", parameter: b, gradient: gradient, lr: 0.01) }
        }
        var fresh = AdamW(beta1: 0.9, beta2: 0.999, weightDecay: 0.1)
        let c = try! Tensor(shape: [3], values: [1, 2, 3])
        fresh.beginStep()
        fresh.update("b", parameter: c, gradient: gradient, lr: 0.01)
        #expect(b.scalars == c.scalars)
        #expect(late.updateCounts == ["a": 3, "b": 1])
        // A checkpoint without counts restores every parameter at the global step.
        var restored = AdamW()
        restored.restore(step: 4, moments: late.moments)
        #expect(restored.updateCounts == ["a": 4, "b": 4])
    }

    @Test("clipping follows clip_grad_norm_: factor min(1, max / (norm + 1e-6)), also just below the bound")
    func torchClip() {
        let g = try! Tensor(shape: [1], values: [0.9999995])
        let before = Double(g.scalars[0])
        let norm = clipGradients([g], maxNorm: 1)
        #expect(norm == before)
        #expect(Double(g.scalars[0]) < before)  // scaled although norm < max
        #expect(abs(Double(g.scalars[0]) - before / (before + 1e-6)) < 1e-7)
        let small = try! Tensor(shape: [1], values: [0.5])
        _ = clipGradients([small], maxNorm: 1)
        #expect(small.scalars == [0.5])
    }

    @Test("HF's cosine schedule: update k takes λ(k − 1), warm-up from 0, decay to 0")
    func referenceSchedule() {
        let s = LearningRateSchedule(peak: 2, warmupSteps: 3, totalSteps: 10, shape: .cosine, minimumFraction: 0,
                                     countsFromZero: true)
        // transformers.get_cosine_schedule_with_warmup(warmup 3, total 10): λ(s) = s/3 for s < 3,
        // then 0.5·(1 + cos(π·(s − 3)/7)).
        let hf = { (s: Int) -> Double in s < 3 ? Double(s) / 3 : 0.5 * (1 + cos(Double.pi * Double(s - 3) / 7)) }
        for k in 1...10 {
            #expect(abs(Double(s.rate(forUpdate: k)) - 2 * hf(k - 1)) < 1e-6, "update \(k)")
        }
        #expect(s.rate(forUpdate: 1) == 0)
        let ours = LearningRateSchedule(peak: 2, warmupSteps: 3, totalSteps: 10)
        #expect(ours.rate(forUpdate: 1) == ours.rate(at: 1) && ours.rate(at: 1) > 0)
    }

    @Test("exact chunks: N inputs, N − 1 targets and an ignored last; windows: N + 1 tokens")
    func chunking() throws {
        let stream = (0..<10).map(Int32.init)
        var exact = try ChunkBatcher(stream: stream, length: 4, seed: 3, chunking: .exact)
        #expect(exact.exampleCount == 2)
        let (x, y) = exact.next(batch: 2)
        for e in 0..<2 {
            let inputs = Array(x[(4 * e)..<(4 * e + 4)]), targets = Array(y[(4 * e)..<(4 * e + 4)])
            #expect(inputs[0] % 4 == 0 && inputs == (inputs[0]..<(inputs[0] + 4)).map { $0 })
            #expect(targets == Array(inputs.dropFirst()) + [Ops.ignoredTarget])
        }
        let windows = try ChunkBatcher(stream: stream, length: 4, seed: 3)
        #expect(windows.exampleCount == 2)
        #expect(try ChunkBatcher(stream: Array(stream.prefix(8)), length: 4, seed: 3, chunking: .exact).exampleCount == 2)
        #expect(try ChunkBatcher(stream: Array(stream.prefix(8)), length: 4, seed: 3).exampleCount == 1)
    }

    @Test("CLEX's last training position: ⌊N·t/s⌋ − 1 under the reference, (N·t − 1)/s under the spec")
    func lastPosition() {
        var g1 = SeededGenerator(seed: 4), g2 = SeededGenerator(seed: 4)
        let spec = CLEXPositional.trainingPositions(sequenceLength: 8, lengthFactor: 3, window: 4, generator: &g1)
        let reference = CLEXPositional.trainingPositions(sequenceLength: 8, lengthFactor: 3, window: 4, last: .reference,
                                                         generator: &g2)
        #expect(spec.last == 11.5)
        #expect(reference.last == 11)
        #expect(spec.dropLast() == reference.dropLast())
    }

    @Test("a reference-recipe run: the first update takes rate 0, one global norm, U and D at the model's rate")
    func referenceTrainer() throws {
        let model = tinyTrainingModel(seed: 3)
        var options = TrainingOptions(recipe: .reference, steps: 40)
        options.sequenceLength = 32
        options.batchSize = 2
        options.learningRate = 1e-2
        options.validateEvery = 0
        #expect(options.warmupSteps == 2 && options.beta2 == 0.999 && options.weightDecay == 0)
        let method = try positionalMethod("clex", model)
        let trainer = try Trainer(model: model, positional: method, training: byteTokens(sampleText), validation: [],
                                  options: options, output: nil)
        #expect(trainer.batcher.chunking == .exact)
        #expect((method as? CLEXPositional)?.lastTrainingPosition == .reference)
        let before = trainer.model.parameters.embedding.tensor.scalars
        let first = try trainer.trainStep()
        #expect(first.learningRate == 0)
        #expect(first.positionalGradientNorm == nil)
        #expect(first.gradientNorm > 0)
        #expect(trainer.model.parameters.embedding.tensor.scalars == before)
        let up = method.learnedParameters[CLEXCheckpointNames.up]!.scalars
        var moved = false
        for _ in 0..<6 {
            let e = try trainer.trainStep()
            #expect(e.learningRate > 0)
            moved = moved || method.learnedParameters[CLEXCheckpointNames.up]!.scalars != up
        }
        #expect(moved, "U never moved in 6 steps (each draws t > 1 with probability 3/4)")
        #expect(trainer.model.parameters.embedding.tensor.scalars != before)

        options.positionalLearningRate = 1e-3
        #expect(throws: TrainingError.self) { try options.validate() }
    }

    @Test("options saved before recipes existed decode as the standard recipe")
    func olderOptions() throws {
        var saved = try JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainingOptions())) as! [String: Any]
        saved.removeValue(forKey: "recipe")
        saved["steps"] = 77
        let decoded = try JSONDecoder().decode(TrainingOptions.self, from: JSONSerialization.data(withJSONObject: saved))
        #expect(decoded.recipe == .standard && decoded.steps == 77)
        #expect(TrainingOptions(recipe: .reference).resumeSignature["recipe"] == "reference")
    }
}
