import CLEXModel
import CLEXTensor
import CLEXTrain
import Foundation
import Testing

/// Stops a run from inside its progress callback, as a kill would.
struct Interrupted: Error {}

@Suite("checkpoints and resume") struct ResumeTests {
    func options(steps: Int = 12) -> TrainingOptions {
        var o = TrainingOptions()
        o.sequenceLength = 16
        o.batchSize = 2
        o.accumulation = 2
        o.steps = steps
        o.learningRate = 3e-3
        o.warmupSteps = 3
        o.checkpointEvery = 3
        o.validateEvery = 4
        o.keepCheckpoints = 2
        return o
    }

    let text = byteTokens(sampleText)

    func trainer(_ output: String?, method: String = "clex", options o: TrainingOptions? = nil) throws -> Trainer {
        let model = tinyTrainingModel(seed: 9)
        return try Trainer(model: model, positional: try positionalMethod(method, model), training: text,
                           validation: Array(text.prefix(200)), options: o ?? options(), output: output)
    }

    func allWeights(_ t: Trainer) -> [Float] {
        let c = t.model.configuration
        var all: [Float] = []
        for slot in CheckpointNames.slots(layers: c.layerCount, tied: c.tieWordEmbeddings) { all += t.model.parameters[slot]!.tensor.scalars }
        for (_, v) in t.positional.learnedParameters.sorted(by: { $0.key < $1.key }) { all += v.scalars }
        return all
    }

    @Test("killed mid-run and resumed, a CLEX run ends bit-identical to an uninterrupted one", arguments: [5, 7])
    func resumeExactly(killAt: Int) throws {
        let reference = try trainer(nil)
        try reference.run()
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let first = try trainer(out)
        #expect(throws: Interrupted.self) { try first.run { if $0.step == killAt { throw Interrupted() } } }
        let model = tinyTrainingModel(seed: 9)
        let resumed = try TrainingCheckpoint.resume(output: out, model: model, positional: try positionalMethod("clex", model),
                                                    training: text, validation: Array(text.prefix(200)), options: options())
        #expect(resumed.step == (killAt / 3) * 3)
        try resumed.run()
        #expect(resumed.step == 12)
        #expect(allWeights(resumed) == allWeights(reference))
        // Only the newest two checkpoints are kept; the log has every step (some twice).
        let dirs = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix("checkpoint-") }.sorted()
        #expect(dirs == ["checkpoint-000009", "checkpoint-000012"])
        let log = try String(contentsOfFile: out + "/log.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(log.count == killAt + 12 - (killAt / 3) * 3)
        // The saved checkpoint is an HF model with the CLEX tensors and rope_scaling.
        let config = try String(contentsOfFile: out + "/checkpoint-000012/config.json", encoding: .utf8)
        #expect(config.contains("\"clex\"") && config.contains("max_factor"))
        let loaded = try ModelLoader.load(out + "/checkpoint-000012")
        #expect(loaded.checkpoint.tensorNames.contains("model.clex_layer.proj_func.ode_up_proj"))
    }

    @Test("a non-finite loss stops the run naming the step; the last checkpoint stays intact")
    func nonFinite() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        var o = options(steps: 6)
        o.checkpointEvery = 2
        let t = try trainer(out, method: "rope", options: o)
        do {
            try t.run { event in
                if event.step == 4 { t.model.parameters.finalNorm.floatTensor!.pointer[0] = .nan }
            }
            Issue.record("the run did not stop")
        } catch let error as TrainingError {
            #expect("\(error)".contains("step 5") && "\(error)".contains("checkpoint-000004"), "\(error)")
        }
        let model = tinyTrainingModel(seed: 9)
        let resumed = try TrainingCheckpoint.resume(output: out, model: model, positional: try positionalMethod("rope", model),
                                                    training: text, validation: [], options: o)
        #expect(resumed.step == 4)
        #expect(resumed.model.parameters.finalNorm.tensor.scalars.allSatisfy { $0.isFinite })
    }

    @Test("resume refuses a corrupt or mismatched checkpoint, naming what is wrong")
    func refusals() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        var o = options(steps: 3)
        let t = try trainer(out, method: "rope", options: o)
        try t.run()
        let model = tinyTrainingModel(seed: 9)
        func refusal(_ options: TrainingOptions, method: String = "rope", model m: LlamaModel? = nil) -> String {
            let m = m ?? model
            do {
                _ = try TrainingCheckpoint.resume(output: out, model: m, positional: try positionalMethod(method, m),
                                                  training: text, validation: [], options: options)
                return "accepted"
            } catch { return "\(error)" }
        }
        o.batchSize = 3
        #expect(refusal(o).contains("option batchSize is 3 now but 2"))
        #expect(refusal(options(steps: 3), method: "pi").contains("positional method is linear now but default"))
        let wider = LlamaModel(configuration: LlamaConfiguration(vocabularySize: 257, hiddenSize: 48, intermediateSize: 64,
                                                                 layerCount: 2, headCount: 4, keyValueHeadCount: 2,
                                                                 maxPositionEmbeddings: 16, tieWordEmbeddings: true),
                               parameters: LlamaParameters(randomFor: model.configuration, seed: 1))
        #expect(refusal(options(steps: 3), model: wider).contains("architecture"))
        try "{ not json".write(toFile: out + "/checkpoint-000003/trainer_state.json", atomically: true, encoding: .utf8)
        #expect(refusal(options(steps: 3)).contains("trainer_state.json is missing or corrupt"))
        try FileManager.default.removeItem(atPath: out + "/latest")
        #expect(refusal(options(steps: 3)).contains("holds no finished checkpoint"))
    }
}
