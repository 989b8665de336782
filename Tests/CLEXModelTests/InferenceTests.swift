import CLEXFormats
import CLEXModel
import CLEXTensor
import Foundation
import Testing

@Suite("inference with a KV cache") struct InferenceTests {
    static let tokens: [Int32] = (0..<40).map { Int32(($0 * 17 + 5) % 61) }

    @Test("prefill logits equal incremental decoding position by position", arguments: [false, true])
    func prefillEqualsDecode(tied: Bool) throws {
        let model = tinyModel(tied: tied)
        let full = try prefillLogits(model, Self.tokens)
        let session = try InferenceSession(model: model, capacity: Self.tokens.count,
                                           rotary: InferenceSession.defaultRotary(model.configuration), cacheTypes: .f32)
        var rows: [Tensor] = [try session.feed(Array(Self.tokens[0..<7]))]
        for t in Self.tokens[7...] { rows.append(try session.feed([t])) }
        var row = 0
        for piece in rows {
            let expected = full.slice(rows: row..<(row + piece.shape[0]))
            #expect(worstRelativeError(piece, expected) < 1e-4, "rows \(row)..<\(row + piece.shape[0])")
            row += piece.shape[0]
        }
        #expect(row == Self.tokens.count)
    }

    @Test("rotate_half and interleaved (permuted) checkpoints give the same logits")
    func layouts() throws {
        let model = tinyModel()
        let interleaved = model.withRotaryLayout(.interleaved)
        #expect(interleaved.parameters.layers[0].query.tensor.scalars != model.parameters.layers[0].query.tensor.scalars)
        let a = try prefillLogits(model, Self.tokens)
        let b = try prefillLogits(interleaved, Self.tokens)
        #expect(worstRelativeError(b, a) < 1e-4)
        // The permutation matters: interleaved rotation on unpermuted rows gives other logits.
        var wrong = model
        wrong.configuration.rotaryLayout = .interleaved
        #expect(worstRelativeError(try prefillLogits(wrong, Self.tokens), a) > 1e-2)
    }

    @Test("a saved HF checkpoint loads back with identical logits", arguments: [false, true])
    func saveLoad(tied: Bool) throws {
        let model = tinyModel(tied: tied, layout: .interleaved)
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ModelWriter.saveHF(model, to: dir)
        let loaded = try ModelLoader.load(dir).model
        #expect(loaded.configuration.rotaryLayout == .rotateHalf)
        #expect(loaded.configuration.tieWordEmbeddings == tied)
        let a = try prefillLogits(model, Self.tokens)
        let b = try prefillLogits(loaded, Self.tokens)
        #expect(worstRelativeError(b, a) < 1e-5)
        // The file is laid out as the Python safetensors library expects: HF names and shapes.
        let file = try SafetensorsFile(path: dir + "/model.safetensors")
        #expect(file.tensorNames.contains("model.layers.1.self_attn.k_proj.weight"))
        #expect(try file.shape(of: "model.layers.1.self_attn.k_proj.weight") == [16, 48])
        #expect(try file.shape(of: "model.embed_tokens.weight") == [61, 48])
        #expect(file.tensorNames.contains("lm_head.weight") == !tied)
    }

    @Test("a model saved with its CLEX method loads back with the method, its ODE weights and the same logits")
    func saveLoadWithCLEX() throws {
        let model = tinyModel(tied: true, layout: .rotateHalf)
        let configuration = try PositionalConfiguration(model: model.configuration, scheme: .clex(CLEXParameters(maxFactor: 8)))
        let method = try configuration.makeMethod(seed: 5)
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ModelWriter.saveHF(model, positional: method, to: dir)
        let loaded = try ModelLoader.load(dir)
        #expect(loaded.positional.scheme == configuration.scheme)
        let back = try loaded.positionalMethod().method
        for (name, tensor) in method.learnedParameters {
            #expect(back.learnedParameters[name]?.scalars == tensor.scalars, "\(name) round-trips exactly")
        }
        let a = try prefillLogits(model, Self.tokens)
        let b = try prefillLogits(loaded.model, Self.tokens)
        #expect(worstRelativeError(b, a) < 1e-5)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as! [String: Any]
        #expect((config["rope_scaling"] as? [String: Any])?["type"] as? String == "clex")
    }

    @Test("a context overflow is an error, not a crash")
    func overflow() throws {
        let model = tinyModel()
        let session = try InferenceSession(model: model, capacity: 8, rotary: InferenceSession.defaultRotary(model.configuration))
        _ = try session.feed(Array(Self.tokens[0..<6]))
        #expect(throws: ModelLoadError.self) { try session.feed(Array(Self.tokens[0..<3])) }
        #expect(session.count == 6)
    }

    // A tokenizer of another model (`--tokenizer`) gave ids past the vocabulary: a trap in the
    // embedding before this check.
    @Test("token ids outside the vocabulary are an error naming the id, and nothing is fed")
    func idsOutsideVocabulary() throws {
        let model = tinyModel()
        let v = Int32(model.configuration.vocabularySize)
        let session = try InferenceSession(model: model, capacity: 8, rotary: InferenceSession.defaultRotary(model.configuration))
        for bad: Int32 in [v, -1] {
            let error = #expect(throws: ModelLoadError.self) { try session.feed([1, bad]) }
            #expect("\(error.map { "\($0)" } ?? "")".contains("token id \(bad) at position 1"))
        }
        #expect(session.count == 0)
    }
}
