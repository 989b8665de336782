import CLEXFormats
import CLEXModel
import CLEXTensor
import Foundation
import Testing

/// `ModelWriter.saveHF` writes each family as transformers does: the same tensor names as the
/// fixture transformers wrote (fused GPT-NeoX q/k/v, one tensor per Mixtral expert, CLEX's
/// `model.clex_layer.*`), a config.json this tool reads back to the same configuration, and the
/// same NLLs.
@Suite("families: HF checkpoints written as transformers writes them")
struct FamilyWriterTests {
    @Test("save, reload: same names, configuration and NLLs", arguments: FamilyGoldenTests.fixtures)
    func roundTrip(fixture: String) throws {
        let source = FamilyGoldenTests.directory(fixture)
        let loaded = try ModelLoader.load(source)
        let method = try loaded.positionalMethod().method
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("writer-\(fixture)-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ModelWriter.saveHF(loaded.model, positional: method, to: dir)

        let original = try SafetensorsFile(path: source + "/model.safetensors")
        let written = try SafetensorsFile(path: dir + "/model.safetensors")
        #expect(Set(written.tensorNames) == Set(original.tensorNames))
        let again = try ModelLoader.load(dir)
        var expected = loaded.model.configuration
        expected.ropeScalingJSON = again.model.configuration.ropeScalingJSON
        #expect(again.model.configuration == expected)

        let golden = try FamilyGoldenTests.golden(fixture)
        let tokens = Array(golden.tokens.prefix(33))
        let session = try InferenceSession(model: again.model, capacity: 33, positional: try again.positionalMethod().method,
                                           precision: .float32, prefill: .single, cacheTypes: .f32)
        let nll = Ops.crossEntropy(try session.feed(tokens).slice(rows: 0..<32), targets: Array(tokens.dropFirst())).perRow.scalars
        #expect(FamilyGoldenTests.worst(nll, golden.nll["33"]!) < 1e-4)
    }
}
