import CLEXTrain
import Foundation
import Testing

@Suite("checkpoint debris") struct CheckpointDebrisTests {
    @Test("saving a checkpoint removes the temporary directories of runs killed while saving")
    func killedSaveLeavesNoDebris() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let debris = out + "/.checkpoint-000002.tmp-999999"
        try FileManager.default.createDirectory(atPath: debris, withIntermediateDirectories: true)
        try Data("half".utf8).write(to: URL(fileURLWithPath: debris + "/model.safetensors"))
        var o = TrainingOptions()
        o.sequenceLength = 16
        o.batchSize = 2
        o.steps = 2
        o.checkpointEvery = 2
        o.validateEvery = 0
        let model = tinyTrainingModel(seed: 3)
        let trainer = try Trainer(model: model, positional: try positionalMethod("rope", model), training: byteTokens(sampleText),
                                  validation: [], options: o, output: out)
        try trainer.run()
        let entries = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(entries == ["checkpoint-000002", "latest", "log.jsonl"])
    }
}
