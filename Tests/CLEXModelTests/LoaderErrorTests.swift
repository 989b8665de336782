import CLEXFormats
import CLEXModel
import CLEXTensor
import Foundation
import Testing

@Suite("model loading errors") struct LoaderErrorTests {
    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    @Test("a safetensors file without config.json names the missing file")
    func missingConfig() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ModelWriter.saveHF(tinyModel(), to: dir)
        try FileManager.default.removeItem(atPath: dir + "/config.json")
        let m = message { _ = try ModelLoader.load(dir + "/model.safetensors") }
        #expect(m.contains("config.json") && m.contains("missing"), "\(m)")
    }

    @Test("a tensor whose shape disagrees with config.json names the tensor and both shapes")
    func shapeMismatch() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = tinyModel()
        try ModelWriter.saveHF(model, to: dir)
        // Rewrite config.json with a wider MLP than the weights have.
        var config = model.configuration
        config.intermediateSize = 96
        try config.hfConfigJSON().write(to: URL(fileURLWithPath: dir + "/config.json"))
        let m = message { _ = try ModelLoader.load(dir) }
        #expect(m.contains("model.layers.0.mlp.gate_proj.weight") && m.contains("[80, 48]") && m.contains("[96, 48]"), "\(m)")
    }

    @Test("a missing tensor is named")
    func missingTensor() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = tinyModel(tied: false)
        try ModelWriter.saveHF(model, to: dir)
        var config = model.configuration
        config.layerCount = 3
        try config.hfConfigJSON().write(to: URL(fileURLWithPath: dir + "/config.json"))
        let m = message { _ = try ModelLoader.load(dir) }
        #expect(m.contains("model.layers.2.input_layernorm.weight") && m.contains("missing"), "\(m)")
    }

    @Test("a GGUF file of another architecture or without a required key is refused by key")
    func ggufMetadata() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = GGUFWriter()
        w.addMetadata("general.architecture", .string("gpt2"))
        w.addTensor("token_embd.weight", Tensor(zeros: [4, 2]))
        try w.write(to: dir + "/a.gguf")
        let m1 = message { _ = try ModelLoader.load(dir + "/a.gguf") }
        #expect(m1.contains("general.architecture") && m1.contains("gpt2"), "\(m1)")

        var v = GGUFWriter()
        v.addMetadata("general.architecture", .string("llama"))
        v.addMetadata("llama.attention.head_count", .uint32(2))
        v.addTensor("token_embd.weight", Tensor(zeros: [4, 2]))
        try v.write(to: dir + "/b.gguf")
        let m2 = message { _ = try ModelLoader.load(dir + "/b.gguf") }
        #expect(m2.contains("b.gguf") && m2.contains("llama.embedding_length"), "\(m2)")
    }

    @Test("a tiny model written as GGUF (interleaved rows) loads and matches the original")
    func ggufRoundTrip() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = tinyModel(tied: true)
        let c = model.configuration
        let gguf = model.withRotaryLayout(.interleaved)
        var w = GGUFWriter()
        for (key, value) in c.ggufMetadata { w.addMetadata(key, value) }
        for slot in CheckpointNames.slots(layers: c.layerCount, tied: true) {
            w.addTensor(CheckpointNames.name(slot, .gguf), gguf.parameters[slot]!.tensor, as: .f16)
        }
        try w.write(to: dir + "/tiny.gguf")
        let loaded = try ModelLoader.load(dir + "/tiny.gguf")
        #expect(loaded.model.configuration.rotaryLayout == .interleaved)
        #expect(loaded.tokenizer == nil)
        let tokens = InferenceTests.tokens
        // F16 storage rounds weights to ~3 significant digits.
        #expect(worstRelativeError(try prefillLogits(loaded.model, tokens), try prefillLogits(model, tokens)) < 0.02)
    }
}
