import CLEXFormats
import CLEXModel
import CLEXTensor
import Foundation
import Testing

/// Decoding over quantised weights (`QuantizedMatrix`, `DecodeWeights`): each block format's
/// dot products against a scalar decoding of ggml's layout, the GEMV against the Float32 GEMV
/// over the dequantised matrix, and whole models against the Float32 decoding path.
///
/// Tolerances: the kernels compute the same sums as the Float32 path over the dequantised
/// weights, grouped differently (per block, then per group of four, then across groups), so a
/// dot product moves by a few ulps of Σ|w·x| — 1e-6 of it leaves room for that and fails on any
/// wrong element, nibble, scale or minimum (a quant off by one moves the sum by d·|x| ≫ 1e-6·Σ|w·x|).
/// Logits use `FastInferenceTests.tolerance` (1e-5 of each row's scale), as the Float32 path does.
@Suite("quantised decoding")
struct QuantizedDecodeTests {
    static let blockTypes: [GGMLType] = [.q8_0, .q4_0, .q4_1]

    /// `rows` rows of random ggml blocks of `type` for `columns` columns: random quants, scales
    /// (and minima) of both signs around 0.01–0.1.
    static func randomBlocks(_ type: GGMLType, rows: Int, columns: Int, seed: UInt64) -> [UInt8] {
        var rng = SeededGenerator(seed: seed)
        let blocks = rows * columns / 32
        var bytes: [UInt8] = []
        func half(_ x: Float) -> [UInt8] { let b = Float16(x).bitPattern; return [UInt8(b & 0xFF), UInt8(b >> 8)] }
        func scale() -> Float { (0.01 + 0.09 * Float(rng.next() % 1000) / 1000) * (rng.next() % 2 == 0 ? 1 : -1) }
        for _ in 0..<blocks {
            bytes += half(scale())
            if type == .q4_1 { bytes += half(scale()) }
            let quants = type == .q8_0 ? 32 : 16
            for _ in 0..<quants { bytes.append(UInt8(truncatingIfNeeded: rng.next())) }
        }
        return bytes
    }

    /// Weight (r, j) decoded from ggml's layout one element at a time (ggml-common.h block_q*).
    static func referenceWeight(_ type: GGMLType, _ bytes: [UInt8], columns: Int, row r: Int, column j: Int) -> Double {
        let bpb = type.bytesPerBlock
        let block = (r * columns + j) / 32, e = j % 32
        let p = block * bpb
        func half(_ o: Int) -> Double { Double(Float16(bitPattern: UInt16(bytes[p + o]) | UInt16(bytes[p + o + 1]) << 8)) }
        switch type {
        case .q8_0:
            return Double(Int8(bitPattern: bytes[p + 2 + e])) * half(0)
        case .q4_0, .q4_1:
            let byte = bytes[p + (type == .q4_1 ? 4 : 2) + e % 16]
            let nibble = Double(e < 16 ? byte & 0x0F : byte >> 4)
            return type == .q4_1 ? nibble * half(0) + half(2) : (nibble - 8) * half(0)
        default:
            preconditionFailure("no reference for \(type)")
        }
    }

    static func randomActivations(_ tokens: Int, _ columns: Int, seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return Tensor.randomNormal([tokens, columns], std: 1, generator: &rng)
    }

    @Test("each format's row · x equals a scalar decoding of ggml's blocks, whole groups and partial ones",
          arguments: blockTypes)
    func dotAgainstScalarReference(type: GGMLType) throws {
        // 32…160 columns: a partial group of 1, 2, 3 blocks, one whole group, a group and one
        // more; 576 = SmolLM2's width (four groups and two blocks).
        for columns in [32, 64, 96, 128, 160, 576] {
            let rows = 7
            let bytes = Self.randomBlocks(type, rows: rows, columns: columns, seed: UInt64(columns))
            let matrix = try bytes.withUnsafeBytes { try QuantizedMatrix(type: type, rows: rows, columns: columns, blocks: $0) }
            #expect(matrix.byteCount == bytes.count)
            #expect(matrix.ggmlBlocks() == bytes, "\(type) \(columns): the regrouped blocks read back as ggml's")
            let x = Self.randomActivations(3, columns, seed: 9)
            let y = matrix.multiply(x)
            #expect(y.shape == [3, rows])
            for t in 0..<3 {
                for r in 0..<rows {
                    var exact = 0.0, magnitude = 0.0
                    for j in 0..<columns {
                        let w = Self.referenceWeight(type, bytes, columns: columns, row: r, column: j)
                        exact += w * Double(x[t, j])
                        magnitude += abs(w * Double(x[t, j]))
                    }
                    #expect(abs(Double(y[t, r]) - exact) <= 1e-6 * magnitude, "\(type) \(columns) columns, row \(r) token \(t)")
                }
            }
        }
    }

    @Test("the quantised GEMV equals the Float32 GEMV over the dequantised matrix", arguments: blockTypes)
    func gemvAgainstDequantized(type: GGMLType) throws {
        var rng = SeededGenerator(seed: 4)
        let w = Tensor.randomNormal([300, 576], std: 0.05, generator: &rng)
        let matrix = try QuantizedMatrix(quantizing: w, to: type)
        let dense = matrix.dequantized()
        // Quantisation changed the weights (so the comparison below is not against w itself).
        #expect(zip(dense.scalars, w.scalars).contains { $0 != $1 })
        for tokens in [1, 2, 8] {
            let x = Self.randomActivations(tokens, 576, seed: UInt64(tokens))
            let got = matrix.multiply(x)
            let expected = Ops.matmul(x, dense, transposeB: true)
            func absolute(_ t: Tensor) -> Tensor { try! Tensor(shape: t.shape, values: t.scalars.map { abs($0) }) }
            let magnitude = Ops.matmul(absolute(x), absolute(dense), transposeB: true)
            for i in 0..<got.count {
                #expect(abs(got.pointer[i] - expected.pointer[i]) <= 1e-6 * magnitude.pointer[i], "\(type) T=\(tokens) element \(i)")
            }
        }
    }

    @Test("rows that are not whole blocks, other types and wrong sizes are refused with the reason")
    func rejections() throws {
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        let m1 = message { _ = try QuantizedMatrix(quantizing: Tensor(zeros: [4, 48]), to: .q8_0) }
        #expect(m1.contains("48") && m1.contains("32"), "\(m1)")
        let m2 = message { _ = try [UInt8](repeating: 0, count: 4 * 34).withUnsafeBytes { try QuantizedMatrix(type: .q8_0, rows: 4, columns: 40, blocks: $0) } }
        #expect(m2.contains("40"), "\(m2)")
        let m3 = message { _ = try QuantizedMatrix(quantizing: Tensor(zeros: [4, 64]), to: .f16) }
        #expect(m3.contains("F16") && m3.contains("Q8_0"), "\(m3)")
        let m4 = message { _ = try [UInt8](repeating: 0, count: 10).withUnsafeBytes { try QuantizedMatrix(type: .q4_1, rows: 2, columns: 32, blocks: $0) } }
        #expect(m4.contains("40 bytes") && m4.contains("10"), "\(m4)")
        // A model whose widths are not whole blocks cannot be requantised.
        let m5 = message { _ = try DecodeWeights(model: tinyModel(), quantizingTo: .q8_0) }
        #expect(m5.contains("48"), "\(m5)")
    }

    /// A random LLaMA whose widths are whole blocks (64 wide, MLP 96, 4 query / 2 key-value heads
    /// of 16; vocabulary 61): two blocks per row of most matrices, three for the down projection.
    static func blockModel(tied: Bool) -> LlamaModel {
        let c = LlamaConfiguration(vocabularySize: 61, hiddenSize: 64, intermediateSize: 96, layerCount: 2,
                                   headCount: 4, keyValueHeadCount: 2, rmsNormEpsilon: 1e-5, ropeTheta: 10000,
                                   maxPositionEmbeddings: 64, tieWordEmbeddings: tied)
        var p = LlamaParameters(randomFor: c, seed: 12)
        for slot in CheckpointNames.slots(layers: c.layerCount, tied: tied) where p[slot]!.rank == 2 {
            p[slot] = Ops.scale(p[slot]!, 4)
        }
        return LlamaModel(configuration: c, parameters: p)
    }

    /// Feeds `tokens` in `pieces` to a Float32 session over `reference` and to one decoding with
    /// `weights`; every row must agree (and, for single tokens and steps ≤ 8, the quantised
    /// kernels are the ones that ran).
    static func compareSessions(_ reference: LlamaModel, _ weights: DecodeWeights, _ tokens: [Int32], pieces: [Int]) throws {
        try #require(pieces.reduce(0, +) == tokens.count)
        let rotary = InferenceSession.defaultRotary(reference.configuration)
        let dense = InferenceSession(model: reference, capacity: tokens.count, rotary: rotary)
        let quantized = InferenceSession(model: reference, capacity: tokens.count, rotary: rotary, decodeWeights: weights)
        let tape = try FastInferenceTests.reference(reference, tokens)
        var row = 0
        for n in pieces {
            let piece = Array(tokens[row..<(row + n)])
            let (a, b) = (try dense.feed(piece), try quantized.feed(piece))
            let error = worstRelativeError(b, a)
            #expect(error < FastInferenceTests.tolerance, "\(weights.summary) rows \(row)..<\(row + n): \(error)")
            #expect(worstRelativeError(b, tape.slice(rows: row..<(row + n))) < FastInferenceTests.tolerance)
            row += n
        }
    }

    @Test("a tiny model decodes with quantised weights as the Float32 path over them dequantised",
          arguments: blockTypes, [false, true])
    func tinyModelDecoding(type: GGMLType, tied: Bool) throws {
        let model = Self.blockModel(tied: tied)
        let weights = try DecodeWeights(model: model, quantizingTo: type)
        #expect(weights.summary == "\(type) ×15")
        #expect(weights.extraByteCount == weights.byteCount && weights.byteCount > 0)
        let reference = weights.dequantizedModel(model)
        let tokens = FastInferenceTests.tokens(30)
        // A 12-token prefill (Float32 GEMM), single tokens and steps of 3 and 8 (quantised GEMVs).
        try Self.compareSessions(reference, weights, tokens, pieces: [12, 1, 1, 3, 8, 1, 1, 1, 1, 1])
        // The quantised model is not the original one: quantisation did change the logits.
        let original = try prefillLogits(model, tokens)
        #expect(worstRelativeError(try prefillLogits(reference, tokens), original) > 1e-4)
    }

    @Test("a GGUF with mixed tensor types decodes from its own blocks; changed parameters are refused")
    func mixedGGUF() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = Self.blockModel(tied: true)
        let c = model.configuration
        var w = GGUFWriter()
        for (key, value) in c.ggufMetadata { w.addMetadata(key, value) }
        let gguf = model.withRotaryLayout(.interleaved)
        let types: [CheckpointNames.LayerSlot: GGMLType] = [.query: .q4_0, .key: .q4_1, .value: .q8_0, .output: .f16,
                                                            .gate: .q4_1, .up: .q8_0, .down: .q4_0]
        for slot in CheckpointNames.slots(layers: c.layerCount, tied: true) {
            var type = GGMLType.f32
            if case .layer(_, let s) = slot { type = types[s] ?? .f32 }
            if slot == .embedding { type = .q8_0 }
            w.addTensor(CheckpointNames.name(slot, .gguf), gguf.parameters[slot]!, as: type)
        }
        try w.write(to: dir + "/mixed.gguf")
        let loaded = try ModelLoader.load(dir + "/mixed.gguf")

        let native = try loaded.decodeWeights(.native)
        #expect(native.summary == "Q4_0 ×4, Q4_1 ×4, Q8_0 ×5, F32 ×2")
        try Self.compareSessions(loaded.model, native, FastInferenceTests.tokens(20), pieces: [5, 1, 2, 1, 8, 1, 1, 1])

        // q8_0: the file's own Q8_0 blocks where it has them, requantised elsewhere.
        let q8 = try loaded.decodeWeights(.q8_0)
        #expect(q8.summary == "Q8_0 ×15")
        try Self.compareSessions(q8.dequantizedModel(loaded.model), q8, FastInferenceTests.tokens(12), pieces: [4, 1, 1, 6])
        #expect(try loaded.decodeWeights(.f32).summary == "F32 ×15")

        // Blocks of a checkpoint whose parameters were changed since loading are refused.
        #expect(throws: ModelLoadError.self) {
            _ = try DecodeWeights(model: loaded.model.withRotaryLayout(.rotateHalf), format: .native, checkpoint: loaded.checkpoint)
        }
    }

    @Test("a safetensors checkpoint decodes in Float32 by default and in Q8_0 when asked")
    func safetensors() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ModelWriter.saveHF(Self.blockModel(tied: false), to: dir)
        let loaded = try ModelLoader.load(dir)
        let native = try loaded.decodeWeights(.native)
        #expect(native.summary == "F32 ×15" && native.extraByteCount == 0)
        let q8 = try loaded.decodeWeights(.q8_0)
        #expect(q8.summary == "Q8_0 ×15")
        try Self.compareSessions(q8.dequantizedModel(loaded.model), q8, FastInferenceTests.tokens(12), pieces: [4, 1, 1, 6])
    }

    @Test("SmolLM2 Q4_1: 16 greedy tokens from its own blocks equal the Float32 path's, logits within tolerance",
          .enabled(if: Assets.haveSmolLM2, "needs cache/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf: run scripts/fetch-assets"))
    func smolLM2() throws {
        let loaded = try ModelLoader.load(Assets.smolLM2)
        let tokenizer = try #require(loaded.tokenizer)
        let native = try loaded.decodeWeights(.native)
        #expect(native.summary == "Q4_1 ×210, Q8_0 ×1")
        #expect(native.extraByteCount < 100_000_000)
        let c = loaded.model.configuration
        func generate(_ weights: DecodeWeights?) throws -> [Int32] {
            let session = InferenceSession(model: loaded.model, capacity: 64, rotary: InferenceSession.defaultRotary(c),
                                           decodeWeights: weights)
            var generator = Generator(session: session, tokenizer: tokenizer, sampler: Sampler())
            return try generator.generate(prompt: tokenizer.encode("The capital of France is", addSpecial: true),
                                          maxTokens: 16).tokens
        }
        let dense = try generate(nil)
        #expect(dense.count == 16)
        #expect(try generate(native) == dense)
        // Logits of every decoding step along the greedy continuation.
        let prompt = tokenizer.encode("The capital of France is", addSpecial: true)
        try Self.compareSessions(loaded.model, native, prompt + dense, pieces: [prompt.count] + Array(repeating: 1, count: 16))
    }
}
