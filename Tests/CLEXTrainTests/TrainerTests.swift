import CLEXModel
import CLEXTensor
import CLEXTrain
import Foundation
import Testing

@Suite("trainer") struct TrainerTests {
    /// Σ over tokens of the next-token NLL (Double) for one seeded training draw.
    func summedLoss(_ model: LlamaModel, _ method: any PositionalMethod, _ x: [Int32], _ y: [Int32], seed: UInt64) throws -> Double {
        let tape = Tape()
        var g = SeededGenerator(seed: seed)
        let placed = try method.training(sequenceLength: 12, tape: tape, generator: &g)
        let logits = model.forward(tokens: x, batch: 2, weights: model.weights(on: tape, trainable: false), positions: placed.inputs)
        return Ops.crossEntropy(logits.value, targets: y).perRow.scalars.reduce(0) { $0 + Double($1) }
    }

    @Test("whole-model gradients match finite differences", arguments: ["rope", "pi", "yarn", "alibi", "clex"])
    func gradientCheck(method name: String) throws {
        let model = tinyTrainingModel(seed: 3, tied: false)
        let method = try positionalMethod(name, model)
        if name == "clex" {
            // A non-zero D so the ODE term contributes (D starts at 0).
            var rng = SeededGenerator(seed: 2)
            let d = method.learnedParameters.keys.first { $0.hasSuffix("ode_down_proj") }!
            try method.setLearnedParameter(d, to: Tensor.randomNormal(method.learnedParameters[d]!.shape, std: 0.5, generator: &rng))
        }
        let tokens = byteTokens(sampleText)
        let x = Array(tokens[0..<12] + tokens[40..<52]), y = Array(tokens[1..<13] + tokens[41..<53])
        // A draw seed whose CLEX length factor t is > 1, so the ODE solve is differentiated.
        var seed: UInt64 = 11
        while true {
            var g = SeededGenerator(seed: seed)
            if try method.training(sequenceLength: 12, tape: Tape(), generator: &g).lengthFactor > 1 || name != "clex" { break }
            seed += 1
        }
        // Analytic gradient of the summed loss.
        let tape = Tape()
        let weights = model.weights(on: tape, trainable: true)
        var g = SeededGenerator(seed: seed)
        let placed = try method.training(sequenceLength: 12, tape: tape, generator: &g)
        let logits = model.forward(tokens: x, batch: 2, weights: weights, positions: placed.inputs)
        tape.backward(logits.crossEntropy(targets: y).scaled(by: Float(y.count)))
        var probes: [(String, Tensor, Tensor, () throws -> Void)] = []
        var rng = SeededGenerator(seed: 4)
        for slot in CheckpointNames.slots(layers: 2, tied: false) {
            probes.append((CheckpointNames.name(slot, .huggingFace), model.parameters[slot]!.floatTensor!, tape.gradient(weights[slot]!)!, {}))
        }
        for (name, v) in placed.parameters.sorted(by: { $0.key < $1.key }) {
            let t = method.learnedParameters[name]!
            probes.append((name, t, tape.gradient(v)!, { try method.setLearnedParameter(name, to: t) }))
        }
        if name == "clex" { #expect(placed.parameters.count == 2, "U and D on the tape") }
        var checked = 0
        for (pname, tensor, gradient, commit) in probes {
            for _ in 0..<3 {
                let i = Int(rng.next() % UInt64(tensor.count))
                let saved = tensor.pointer[i]
                let eps: Float = 1e-2
                tensor.pointer[i] = saved + eps; try commit()
                let up = try summedLoss(model, method, x, y, seed: seed)
                tensor.pointer[i] = saved - eps; try commit()
                let down = try summedLoss(model, method, x, y, seed: seed)
                tensor.pointer[i] = saved; try commit()
                let numeric = (up - down) / (2 * Double(eps))
                let analytic = Double(gradient.pointer[i])
                // Summed NLL of 24 tokens ≈ 130 in Float32 per row, summed in Double: rounding
                // ≈ 24·1e-6 / 0.02 ≈ 1e-3 absolute on the quotient; curvature over ±0.01 adds
                // ~1e-4 relative. 3e-2 relative (floor 2e-3) separates these from real errors.
                #expect(abs(numeric - analytic) <= 3e-2 * max(abs(numeric), abs(analytic)) + 2e-3,
                        "\(name) \(pname)[\(i)]: analytic \(analytic), numeric \(numeric)")
                checked += 1
            }
        }
        #expect(checked >= 3 * 21)
    }

    @Test("a tiny model memorises a short text (loss < 0.05)")
    func memorises() throws {
        let model = tinyTrainingModel(seed: 7)
        var options = TrainingOptions()
        options.sequenceLength = 32
        options.batchSize = 8
        options.steps = 300
        options.learningRate = 1e-2
        options.warmupSteps = 20
        options.weightDecay = 0
        options.validateEvery = 0
        let text = byteTokens(String(sampleText.prefix(200)))
        let trainer = try Trainer(model: model, positional: try positionalMethod("rope", model), training: text,
                                  validation: [], options: options, output: nil)
        var last = Double.infinity
        try trainer.run { last = $0.loss }
        #expect(last < 0.05, "final training loss \(last)")
    }

    // Fine-tuning with a tokenizer of another model fed ids past the embedding: a trap in the
    // first step before this check.
    @Test("tokens outside the model's vocabulary are refused before training, naming the set and the id")
    func tokensOutsideVocabulary() throws {
        let model = tinyTrainingModel()   // 257 ids
        var options = TrainingOptions()
        options.sequenceLength = 16
        options.steps = 1
        let fits = byteTokens(String(sampleText.prefix(64)))
        let beyond = fits + [257]
        for (training, validation, set) in [(beyond, fits, "training"), (fits, beyond, "validation")] {
            #expect(throws: TrainingError.tokenOutsideVocabulary(set: set, id: 257, vocabulary: 257)) {
                try Trainer(model: model, positional: try positionalMethod("rope", model), training: training,
                            validation: validation, options: options, output: nil)
            }
        }
    }
}
