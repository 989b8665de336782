import CLEXFormats
import CLEXModel
import CLEXTensor
import Foundation
import Testing

/// `ModelInfo.read` (what `clex info` prints) on the tiny model written in each format.
@Suite("model info") struct ModelInfoTests {
    func fileSize(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
    }

    func line(_ info: ModelInfo, _ label: String) -> String {
        info.lines.first { $0.hasPrefix(label + ": ") } ?? "no line \(label)"
    }

    @Test("HF safetensors directory: sizes, rope scaling keys, F32 tensors, no tokenizer")
    func safetensors() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var model = tinyModel(tied: false)
        model.configuration.ropeScalingJSON = Data(#"{"factor": 4.0, "rope_type": "linear"}"#.utf8)
        try ModelWriter.saveHF(model, to: dir)
        for path in [dir, dir + "/model.safetensors"] {
            let info = try ModelInfo.read(path)
            let c = info.configuration
            #expect(info.format == "safetensors" && info.architecture == "llama")
            #expect(c.layerCount == 2 && c.hiddenSize == 48 && c.intermediateSize == 80 && c.vocabularySize == 61)
            #expect(c.headCount == 6 && c.keyValueHeadCount == 2 && c.headDimension == 8)
            let size = try fileSize(dir + "/model.safetensors")
            #expect(info.fileBytes == size)
            // 2 layers × 9 tensors, embedding, final norm, separate head.
            #expect(info.tensorTypes.map(\.type) == ["F32"] && info.tensorTypes.map(\.count) == [21])
            #expect(info.tensorTypes.map(\.elements) == [c.parameterCount])
            #expect(info.parameterCount == c.parameterCount)
            #expect(info.tokenizer == nil)
            #expect(line(info, "heads") == "heads: 6 query, 2 key/value, head dim 8")
            #expect(line(info, "rope") == "rope: theta 10000, context length 64, layout rotate_half")
            #expect(line(info, "rope keys") == "rope keys: rope_scaling.factor=4, rope_scaling.rope_type=linear")
            #expect(line(info, "output head") == "output head: separate")
            #expect(line(info, "tokenizer") == "tokenizer: none")
            #expect(line(info, "tensors") == "tensors: F32 ×21 (21 in all)")
        }
    }

    @Test("GGUF: F16 and F32 tensors counted by type, name, rope keys, tokenizer with chat template")
    func gguf() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = tinyModel(tied: true).withRotaryLayout(.interleaved)
        let c = model.configuration
        var w = GGUFWriter()
        w.addMetadata("general.architecture", .string("llama"))
        w.addMetadata("general.name", .string("tiny"))
        for (key, value) in [("vocab_size", c.vocabularySize), ("embedding_length", c.hiddenSize),
                             ("feed_forward_length", c.intermediateSize), ("block_count", c.layerCount),
                             ("attention.head_count", c.headCount), ("attention.head_count_kv", c.keyValueHeadCount),
                             ("context_length", 256)] {
            w.addMetadata("llama." + key, .uint32(UInt32(value)))
        }
        w.addMetadata("llama.rope.freq_base", .float32(500000))
        w.addMetadata("llama.rope.scaling.type", .string("linear"))
        w.addMetadata("llama.rope.scaling.factor", .float32(2))
        let tokens = ["<unk>", "<s>", "</s>"] + (3..<61).map { "▁w\($0)" }
        w.addMetadata("tokenizer.ggml.model", .string("llama"))
        w.addMetadata("tokenizer.ggml.tokens", .array(elementType: .string, tokens.map { .string($0) }))
        w.addMetadata("tokenizer.ggml.scores", .array(elementType: .float32, tokens.indices.map { .float32(-Float($0)) }))
        w.addMetadata("tokenizer.ggml.token_type", .array(elementType: .int32, tokens.indices.map { .int32($0 == 0 ? 2 : $0 < 3 ? 3 : 1) }))
        w.addMetadata("tokenizer.ggml.bos_token_id", .uint32(1))
        w.addMetadata("tokenizer.ggml.eos_token_id", .uint32(2))
        w.addMetadata("tokenizer.chat_template", .string("{{ messages }}"))
        for slot in CheckpointNames.slots(layers: c.layerCount, tied: true) {
            let t = model.parameters[slot]!.tensor
            w.addTensor(CheckpointNames.name(slot, .gguf), t, as: t.rank == 2 ? .f16 : .f32)
        }
        let path = dir + "/tiny.gguf"
        try w.write(to: path)
        let info = try ModelInfo.read(path)
        let size = try fileSize(path)
        #expect(info.format == "GGUF v3" && info.name == "tiny" && info.fileBytes == size)
        #expect(info.configuration.ropeTheta == 500000 && info.configuration.maxPositionEmbeddings == 256)
        // Matrices: embedding + 7 per layer; vectors: 2 norms per layer + the final norm.
        #expect(info.tensorTypes.map(\.type) == ["F16", "F32"] && info.tensorTypes.map(\.count) == [15, 5])
        #expect(info.parameterCount == c.parameterCount)
        let t = try #require(info.tokenizer)
        #expect(t.vocabularySize == 61 && t.bos == 1 && t.eos == 2 && t.bosToken == "<s>" && t.eosToken == "</s>")
        #expect(t.hasChatTemplate && t.type == "GGUF llama")
        #expect(line(info, "architecture") == "architecture: llama (tiny)")
        #expect(line(info, "output head") == "output head: tied to the embedding")
        #expect(line(info, "rope") == "rope: theta 500000, context length 256, layout interleaved")
        #expect(line(info, "rope keys") == "rope keys: llama.rope.scaling.type=linear, llama.rope.scaling.factor=2")
        #expect(line(info, "tokenizer") == "tokenizer: GGUF llama, vocabulary 61, bos 1 <s>, eos 2 </s>, chat template yes")
        #expect(line(info, "tensors") == "tensors: F16 ×15, F32 ×5 (20 in all)")
    }

    @Test("llama2.c: the header's sizes, F32 tensors, shared classifier")
    func llama2c() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = Llama2CConfig(dim: 48, hiddenDim: 80, layerCount: 2, headCount: 6, kvHeadCount: 2,
                                   vocabSize: 61, seqLen: 64, sharedClassifier: true)
        let (d, h, hs, l) = (48, 80, 8, 2)
        // run.c's order: emb, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, freq_cis (2 blocks).
        let floats = 61 * d + l * d + l * d * 6 * hs + 2 * l * d * 2 * hs + l * 6 * hs * d + l * d + 3 * l * d * h + d + 64 * hs
        var bytes: [UInt8] = []
        for v in config.headerFields { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        bytes += [UInt8](repeating: 0, count: 4 * floats)
        let path = dir + "/model.bin"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let info = try ModelInfo.read(path)
        let c = info.configuration
        #expect(info.format == "llama2.c")
        #expect(info.fileBytes == bytes.count)
        #expect(c.layerCount == 2 && c.hiddenSize == 48 && c.headCount == 6 && c.keyValueHeadCount == 2 && c.tieWordEmbeddings)
        #expect(c.maxPositionEmbeddings == 64 && c.rotaryLayout == .interleaved)
        #expect(info.tensorTypes.map(\.type) == ["F32"] && info.tensorTypes.map(\.count) == [20])
        #expect(info.parameterCount == c.parameterCount)
        #expect(line(info, "rope keys") == "rope keys: none")
    }

    @Test("a missing file, a truncated file and mismatched shapes throw the loader's messages")
    func errors() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func message(_ path: String) -> String {
            do { _ = try ModelInfo.read(path); return "no error" } catch { return "\(error)" }
        }
        #expect(message(dir + "/absent.gguf").contains("absent.gguf"))
        let model = tinyModel()
        try ModelWriter.saveHF(model, to: dir)
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/model.safetensors"))
        try data.prefix(200).write(to: URL(fileURLWithPath: dir + "/cut.safetensors"))
        #expect(message(dir + "/cut.safetensors").contains("cut.safetensors"))
        var config = model.configuration
        config.intermediateSize = 96
        try config.hfConfigJSON().write(to: URL(fileURLWithPath: dir + "/config.json"))
        let m = message(dir)
        let loaderMessage: String
        do { _ = try ModelLoader.load(dir); loaderMessage = "loaded" } catch { loaderMessage = "\(error)" }
        #expect(m == loaderMessage)
        #expect(m.contains("model.layers.0.mlp.gate_proj.weight") && m.contains("[96, 48]"), "\(m)")
    }
}
