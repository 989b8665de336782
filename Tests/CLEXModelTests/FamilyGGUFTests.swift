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

    /// GGUF tensors of `model` in llama.cpp's layout; `fuseQKV` writes q, k and v as one
    /// `attn_qkv` (as conversions of phi-2's original checkpoint did).
    static func ggufTensors(_ model: LlamaModel, fuseQKV: Bool = false) -> [(name: String, tensor: Tensor)] {
        let c = model.configuration
        let stored = c.architecture.ggufName == "llama" ? model.withRotaryLayout(.interleaved) : model
        var out: [(name: String, tensor: Tensor)] = []
        var fused: [String: [Float]] = [:]
        for slot in stored.parameters.slots {
            var name = CheckpointNames.name(slot, .gguf, c.architecture)
            if fuseQKV { name = name.replacing(/attn_[qkv]\./, with: "attn_qkv.") }
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

    /// Writes the GGUF of `model` into a new temporary directory; returns the file and the directory.
    static func write(_ model: LlamaModel, type: GGMLType, fuseQKV: Bool = false) throws -> (path: String, directory: URL) {
        var w = GGUFWriter()
        for (key, value) in model.configuration.ggufMetadata { w.addMetadata(key, value) }
        for (name, tensor) in Self.ggufTensors(model, fuseQKV: fuseQKV) { w.addTensor(name, tensor, as: tensor.rank >= 2 ? type : .f32) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("family-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("m.gguf").path
        try w.write(to: path)
        return (path, dir)
    }

    @Test("a GGUF of each family loads and matches the reference NLLs", arguments: cases)
    func gguf(fixture: String, type: GGMLType) throws {
        let hf = try ModelLoader.load(FamilyGoldenTests.directory(fixture))
        let golden = try FamilyGoldenTests.golden(fixture)
        let (path, dir) = try Self.write(hf.model, type: type)
        defer { try? FileManager.default.removeItem(at: dir) }

        let loaded = try ModelLoader.load(path)
        let c = loaded.model.configuration
        let expected = hf.model.configuration.architecture == .mistral ? .llama : hf.model.configuration.architecture
        #expect(c.architecture == expected)
        #expect(c.rotaryDimension == hf.model.configuration.rotaryDimension)
        #expect(c.expertCount == hf.model.configuration.expertCount && c.parallelResidual == hf.model.configuration.parallelResidual)
        let method = try loaded.positionalMethod().method
        let clex = fixture.hasSuffix("-clex")
        let tolerance = type == .f32 ? 1e-4 : 2e-2
        // GGUF has no key for Mistral's window (llama.cpp runs such files with full attention):
        // the windowed fixture matches up to its window.
        let longest = clex ? 16 : fixture == "mistral-window" ? 12 : Int.max
        #expect(c.slidingWindow == nil)
        for (key, reference) in golden.nll where Int(key)! <= longest {
            let n = Int(key)!
            let tokens = Array(golden.tokens.prefix(n))
            let session = try InferenceSession(model: loaded.model, capacity: n, positional: method, precision: .float32,
                                               prefill: .single, cacheTypes: .f32)
            let nll = Ops.crossEntropy(try session.feed(tokens).slice(rows: 0..<(n - 1)), targets: Array(tokens.dropFirst())).perRow.scalars
            let worst = FamilyGoldenTests.worst(nll, reference)
            #expect(worst < tolerance, "\(fixture) \(type) n = \(n): off by \(worst)")
        }
    }

    @Test("a Phi-2 GGUF with q, k and v fused in attn_qkv loads as the separate one does (F32, Q8_0)", arguments: [GGMLType.f32, .q8_0])
    func phi2FusedQKV(type: GGMLType) throws {
        let hf = try ModelLoader.load(FamilyGoldenTests.directory("phi2-clex"))
        let (separate, a) = try Self.write(hf.model, type: type)
        let (fused, b) = try Self.write(hf.model, type: type, fuseQKV: true)
        defer { for d in [a, b] { try? FileManager.default.removeItem(at: d) } }
        #expect(try GGUFFile(path: fused).tensorNames.contains("blk.1.attn_qkv.weight"))
        let (one, other) = (try ModelLoader.load(separate).model, try ModelLoader.load(fused).model)
        for slot in one.parameters.slots {
            #expect(one.parameters[slot]!.tensor.scalars == other.parameters[slot]!.tensor.scalars, "\(slot)")
        }
        let info = try ModelInfo.read(fused)
        #expect(info.architecture == "phi2")

        // A fused tensor of the wrong height is named with what it needs.
        var w = GGUFWriter()
        for (key, value) in hf.model.configuration.ggufMetadata { w.addMetadata(key, value) }
        for (name, tensor) in Self.ggufTensors(hf.model, fuseQKV: true) {
            let cut = name == "blk.1.attn_qkv.weight" ? tensor.slice(rows: 0..<(tensor.shape[0] - 1)) : tensor
            w.addTensor(name, cut, as: .f32)
        }
        let bad = b.appendingPathComponent("bad.gguf").path
        try w.write(to: bad)
        #expect { _ = try ModelLoader.load(bad) } throws: { "\($0)".contains("'blk.1.attn_qkv.weight' has shape [95, 32]") && "\($0)".contains("[96, 32]") }
    }
}
