import CLEXFormats
import CLEXTensor
import Foundation
import Testing

/// Tests/Fixtures/CLEXFormats/python_written.gguf, written by llama.cpp's gguf-py
/// (make_gguf_fixture.py next to it), found from this file's path.
private let pythonGGUF: String = {
    var url = URL(fileURLWithPath: #filePath)
    url.deleteLastPathComponent()
    url.deleteLastPathComponent()
    return url.appendingPathComponent("Fixtures/CLEXFormats/python_written.gguf").path
}()

@Suite("GGUF compatibility with llama.cpp's gguf-py") struct GGUFCompatibilityTests {
    @Test("metadata written by gguf-py reads back with its types")
    func metadata() throws {
        let g = try GGUFFile(path: pythonGGUF)
        let m = g.metadata
        #expect(g.version == 3 && g.alignment == 32)
        #expect(try m.string("general.architecture") == "llama")
        #expect(try m.uint32("llama.block_count") == 2)
        #expect(m["llama.context_length"] == .uint32(128))
        #expect(try m.float("llama.attention.layer_norm_rms_epsilon") == 1e-5)
        #expect(try m.stringArray("tokenizer.ggml.tokens") == ["<s>", "</s>", "▁hi"])
        #expect(try m.floatArray("tokenizer.ggml.scores") == [0, -1, -2.5])
        #expect(m["test.flag"] == .bool(true) && m["test.big"] == .uint64(1 << 40) && m["test.int8"] == .int8(-3))
    }

    @Test("each encoding dequantises to gguf-py's own dequantisation, and our quantiser writes gguf-py's bytes",
          arguments: ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1"])
    func tensors(type: String) throws {
        let g = try GGUFFile(path: pythonGGUF)
        let info = try g.info("x.\(type)")
        #expect(info.type.description == type && info.shape == [3, 64] && info.dimensions == [64, 3])
        let ours = try g.tensor("x.\(type)")
        let theirs = try g.tensor("ref.\(type)")
        #expect(ours.shape == [3, 64] && ours.scalars == theirs.scalars, "max diff \(maxAbsDifference(ours.scalars, theirs.scalars))")
        let x = try g.tensor("x.F32").scalars
        var encoded = [UInt8](repeating: 0, count: info.byteRange.count)
        x.withUnsafeBufferPointer { src in
            encoded.withUnsafeMutableBytes { info.type.elementType!.quantize(src.baseAddress!, count: x.count, into: $0.baseAddress!) }
        }
        #expect(encoded == Array(g.rawBytes(of: info)), "\(type) bytes")
    }
}
