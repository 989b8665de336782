import CLEXFormats
import CLEXModel
import CLEXTensor
import Foundation
import Testing

/// Inference over weights stored in every element type of the table: the logits of the
/// inference path against the reference — the tape forward over the same weights dequantised to
/// Float32 — for a prefill (tiled kernels or sgemm) and decoding steps (streaming kernels).
///
/// - With Float32 activations (`.float32`), the inference path computes the same Float32 math
///   in another summation order: 1e-5 of each row's scale, as `FastInferenceTests`.
/// - With 8-bit activations (`.q8`, the default), each matrix product rounds its input to 8-bit
///   blocks (a relative error up to 1/254 per element); through the two layers of this random
///   model, whose large weights amplify small changes, the logits moved by 3–7e-2 of the row
///   scale (measured: Q4_0 0.032, Q8_0 0.043, Q4_K 0.045, Q4_1 0.048, Q6_K 0.063). 0.12 still
///   fails on any real mistake (a wrong row, block layout or scale moves logits by O(1)); the
///   kernels themselves are checked to 1e-5 against the same rounding (CLEXTensorTests).
@Suite("inference over typed weights equals the dequantised reference")
struct TypedWeightTests {
    /// Widths that are whole blocks of every type (k-quants: 256).
    static func model(seed: UInt64 = 5) -> LlamaModel {
        let c = LlamaConfiguration(vocabularySize: 67, hiddenSize: 256, intermediateSize: 512, layerCount: 2,
                                   headCount: 4, keyValueHeadCount: 2, rmsNormEpsilon: 1e-5, ropeTheta: 10000,
                                   maxPositionEmbeddings: 64, tieWordEmbeddings: false, rotaryLayout: .rotateHalf)
        var p = LlamaParameters(randomFor: c, seed: seed)
        var rng = SeededGenerator(seed: seed + 1)
        for slot in p.slots {
            let t = Ops.scale(p[slot]!.tensor, 3)
            if CheckpointNames.role(slot) == .norm { for i in 0..<t.count { t.pointer[i] = 1 + 0.3 * rng.nextNormal() } }
            p[slot] = Weight(t)
        }
        return LlamaModel(configuration: c, parameters: p)
    }

    static let tokens: [Int32] = (0..<30).map { Int32(($0 * 13 + 7) % 67) }

    static func reference(_ model: LlamaModel) throws -> Tensor {
        try FastInferenceTests.reference(model, tokens)
    }

    /// Logits of `tokens` fed in pieces (a 12-token prefill, then steps of 1, 3 and 14 tokens).
    static func inferred(_ model: LlamaModel, precision: ActivationPrecision) throws -> Tensor {
        let s = try InferenceSession(model: model, capacity: tokens.count,
                                     rotary: InferenceSession.defaultRotary(model.configuration), precision: precision,
                                     cacheTypes: .f32)
        let out = Tensor(zeros: [tokens.count, model.configuration.vocabularySize])
        var row = 0
        for n in [12, 1, 3, 14] {
            out.slice(rows: row..<(row + n)).assign(try s.feed(Array(tokens[row..<(row + n)])))
            row += n
        }
        return out
    }

    @Test("Float32 activations: every type equals the dequantise-then-Float32 reference to 1e-5",
          arguments: ElementType.allCases)
    func exact(type: ElementType) throws {
        let model = try Self.model().converted(to: type)
        #expect(model.parameters.layers[0].gate.type == type && model.parameters.layers[0].mlpNorm.type == .f32)
        let error = worstRelativeError(try Self.inferred(model, precision: .float32), try Self.reference(model))
        #expect(error < 1e-5, "\(type): error \(error)")
    }

    @Test("8-bit activations: every type stays within the activations' rounding of the reference",
          arguments: ElementType.allCases)
    func quantizedActivations(type: ElementType) throws {
        let model = try Self.model().converted(to: type)
        let error = worstRelativeError(try Self.inferred(model, precision: .q8), try Self.reference(model))
        let tolerance: Float = type.isQuantized ? 0.12 : 1e-5
        print("TypedWeightTests: \(type) with 8-bit activations: error \(error)")
        #expect(error < tolerance, "\(type): error \(error)")
    }

    @Test("a GGUF of every type loads with its matrices mapped as stored, not widened", arguments: ElementType.allCases)
    func mappedGGUF(type: ElementType) throws {
        let model = try Self.model().converted(to: type)
        let c = model.configuration
        var w = GGUFWriter()
        for (key, value) in c.ggufMetadata { w.addMetadata(key, value) }
        let gguf = model.withRotaryLayout(.interleaved)
        for slot in gguf.parameters.slots {
            let weight = gguf.parameters[slot]!
            w.addTensor(CheckpointNames.name(slot, .gguf), weight.tensor, as: GGMLType(rawValue: weight.type.ggmlID)!)
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("typed-\(type)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.gguf").path
        try w.write(to: path)
        let loaded = try ModelLoader.load(path)
        let q = loaded.model.parameters.layers[1].query
        #expect(q.type == type && q.floatTensor == nil, "the matrix is the file's bytes")
        #expect(loaded.model.parameters.finalNorm.floatTensor != nil, "norms are Float32")
        // Interleaved (GGUF) rows read where they lie: the reference over the same weights.
        let error = worstRelativeError(try Self.inferred(loaded.model, precision: .float32), try Self.reference(loaded.model))
        #expect(error < 1e-5, "\(type): error \(error)")
    }

    @Test("a context that cannot fit in memory is refused before anything is allocated")
    func memoryRefusal() throws {
        let model = Self.model()
        do {
            _ = try InferenceSession(model: model, capacity: 1 << 40, rotary: InferenceSession.defaultRotary(model.configuration))
            Issue.record("a 2^40-token session was created")
        } catch let error as MemoryError {
            #expect(error.description.contains("a context of 1099511627776 tokens") && error.description.contains("available"),
                    "\(error)")
        }
        #expect(throws: MemoryError.self) { try MemoryBudget.require(1 << 60, for: "a test") }
        try MemoryBudget.require(1 << 20, for: "a megabyte")
    }
}
