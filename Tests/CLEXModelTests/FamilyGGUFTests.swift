import CLEXFormats
import CLEXModel
import CLEXTensor
import Foundation
import Testing

/// The golden fixtures written as GGUF the way llama.cpp's converter lays them out (its tensor
/// names and `{arch}.*` keys; q/k rows permuted for "llama" files; GPT-NeoX's q/k/v as one
/// `attn_qkv` of q rows, then k, then v; Mixtral's experts as 3-D `ffn_*_exps`), in F32 and F16,
/// load as their family and reproduce the reference's NLLs: every length for plain RoPE, and
/// the lengths with t = 1 for CLEX checkpoints (GGUF carries no CLEX parameters).
@Suite("families: GGUF files load and match the reference")
struct FamilyGGUFTests {
    static let cases: [(fixture: String, type: GGMLType)] = FamilyGoldenTests.fixtures.flatMap { [($0, .f32), ($0, .f16)] }

    /// GGUF tensors of `model` in llama.cpp's layout.
    static func ggufTensors(_ model: LlamaModel) -> [(name: String, tensor: Tensor)] {
        let c = model.configuration
        let stored = c.architecture.ggufName == "llama" ? model.withRotaryLayout(.interleaved) : model
        var out: [(name: String, tensor: Tensor)] = []
        var fused: [String: [Float]] = [:]
        for slot in stored.parameters.slots {
            let name = CheckpointNames.name(slot, .gguf, c.architecture)
            let t = stored.parameters[slot]!.tensor
            if name.contains("attn_qkv") {
                fused[name, default: []] += t.scalars
                let parts = fused[name]!
                let rows = CheckpointNames.shape(slot, c)[0] * 3
                if parts.count == rows * (t.rank == 2 ? t.shape[1] : 1) {
                    out.append((name, try! Tensor(shape: t.rank == 2 ? [rows, t.shape[1]] : [rows], values: parts)))
                }
            } else if case .layer(_, let s) = slot, [.expertGate, .expertUp, .expertDown].contains(s) {
                out.append((name, t.reshaped([c.expertCount, t.shape[0] / c.expertCount, t.shape[1]])))
            } else {
                out.append((name, t))
            }
        }
        return out
    }

    @Test("a GGUF of each family loads and matches the reference NLLs", arguments: cases)
    func gguf(fixture: String, type: GGMLType) throws {
        let hf = try ModelLoader.load(FamilyGoldenTests.directory(fixture))
        let golden = try FamilyGoldenTests.golden(fixture)
        var w = GGUFWriter()
        for (key, value) in hf.model.configuration.ggufMetadata { w.addMetadata(key, value) }
        for (name, tensor) in Self.ggufTensors(hf.model) { w.addTensor(name, tensor, as: tensor.rank >= 2 ? type : .f32) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("family-\(fixture)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.gguf").path
        try w.write(to: path)

        let loaded = try ModelLoader.load(path)
        let c = loaded.model.configuration
        let expected = hf.model.configuration.architecture == .mistral ? .llama : hf.model.configuration.architecture
        #expect(c.architecture == expected)
        #expect(c.rotaryDimension == hf.model.configuration.rotaryDimension)
        #expect(c.expertCount == hf.model.configuration.expertCount && c.parallelResidual == hf.model.configuration.parallelResidual)
        let method = try loaded.positionalMethod().method
        let clex = fixture.hasSuffix("-clex")
        let tolerance = type == .f32 ? 1e-4 : 2e-2
        for (key, reference) in golden.nll where !clex || Int(key)! <= 16 {
            let n = Int(key)!
            let tokens = Array(golden.tokens.prefix(n))
            let session = try InferenceSession(model: loaded.model, capacity: n, positional: method, precision: .float32,
                                               prefill: .single, cacheTypes: .f32)
            let nll = Ops.crossEntropy(try session.feed(tokens).slice(rows: 0..<(n - 1)), targets: Array(tokens.dropFirst())).perRow.scalars
            let worst = FamilyGoldenTests.worst(nll, reference)
            #expect(worst < tolerance, "\(fixture) \(type) n = \(n): off by \(worst)")
        }
    }
}
