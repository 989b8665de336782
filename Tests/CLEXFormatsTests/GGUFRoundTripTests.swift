import CLEXFormats
import CLEXTensor
import Foundation
import Testing

/// One value of every metadata type, including nested and empty arrays.
let allMetadataValues: [(key: String, value: MetadataValue)] = [
    ("general.architecture", .string("llama")),
    ("general.name", .string("tiny ✓ ünïcode")),
    ("t.uint8", .uint8(250)), ("t.int8", .int8(-7)), ("t.uint16", .uint16(65000)), ("t.int16", .int16(-300)),
    ("t.uint32", .uint32(4_000_000_000)), ("t.int32", .int32(-2_000_000_000)), ("t.float32", .float32(1e-5)),
    ("t.bool", .bool(true)), ("t.uint64", .uint64(1 << 60)), ("t.int64", .int64(-(1 << 60))), ("t.float64", .float64(-2.5e300)),
    ("llama.block_count", .uint32(4)),
    ("tokenizer.ggml.tokens", .array(elementType: .string, ["<s>", "</s>", "▁the", ""].map(MetadataValue.string))),
    ("tokenizer.ggml.scores", .array(elementType: .float32, [0, -1.5, 2].map(MetadataValue.float32))),
    ("t.empty", .array(elementType: .int64, [])),
    ("t.nested", .array(elementType: .array, [
        .array(elementType: .uint8, [.uint8(1), .uint8(2)]),
        .array(elementType: .string, [.string("x")]),
        .array(elementType: .array, [.array(elementType: .bool, [.bool(false)])]),
    ])),
]

@Suite("GGUF writer and reader") struct GGUFRoundTripTests {
    @Test("every metadata type round-trips in order, for versions 2 and 3", arguments: [UInt32(2), 3])
    func metadata(version: UInt32) throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        var w = GGUFWriter(version: version)
        for (k, v) in allMetadataValues { w.addMetadata(k, v) }
        let path = dir.file("meta.gguf")
        try w.write(to: path)
        let g = try GGUFFile(path: path)
        #expect(g.version == version)
        #expect(g.metadata.keys == allMetadataValues.map(\.key))
        for (k, v) in allMetadataValues { #expect(g.metadata[k] == v, "\(k)") }
        #expect(g.alignment == 32 && g.tensorNames.isEmpty)
    }

    @Test("typed accessors convert losslessly and name key and types when they cannot")
    func accessors() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        var w = GGUFWriter()
        for (k, v) in allMetadataValues { w.addMetadata(k, v) }
        let path = dir.write("acc.gguf", w.serialized())
        let m = try GGUFFile(path: path).metadata
        #expect(try m.uint32("llama.block_count") == 4)
        #expect(try m.int("t.uint64") == 1 << 60)
        #expect(try m.int("t.int8") == -7)
        #expect(try m.float("t.float32") == 1e-5)
        #expect(try m.double("t.float64") == -2.5e300)
        #expect(try m.bool("t.bool"))
        #expect(try m.string("general.architecture") == "llama")
        #expect(try m.stringArray("tokenizer.ggml.tokens") == ["<s>", "</s>", "▁the", ""])
        #expect(try m.floatArray("tokenizer.ggml.scores") == [0, -1.5, 2])
        #expect(try m.intArray("t.empty") == [])
        #expect(try m.array("t.nested").count == 3)
        #expect(try m.int("llama.missing", default: 9) == 9)
        expectCheckpointError(["acc.gguf", "metadata key 'llama.block_count'", "expected string", "found uint32 4"]) {
            _ = try m.string("llama.block_count")
        }
        expectCheckpointError(["acc.gguf", "metadata key 't.int8'", "expected uint32"]) { _ = try m.uint32("t.int8") }
        expectCheckpointError(["acc.gguf", "metadata key 't.uint64'", "expected int32"]) { _ = try m.int32("t.uint64") }
        expectCheckpointError(["acc.gguf", "metadata key 'general.name'", "expected array of string"]) {
            _ = try m.stringArray("general.name")
        }
        expectCheckpointError(["acc.gguf", "no metadata key 'llama.context_length'"]) { _ = try m.uint32("llama.context_length") }
        expectCheckpointError(["metadata key 't.uint8'", "expected float32"]) { _ = try m.float("t.uint8", default: 1) }
    }

    @Test("tensors of every writable type round-trip with ggml shapes", arguments: [GGMLType.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1])
    func tensors(type: GGMLType) throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let shapes: [[Int]] = type.blockSize == 1 ? [[3, 5], [17], [2, 3, 4], []] : [[3, 64], [32], [2, 1, 96]]
        var w = GGUFWriter()
        w.addMetadata("general.architecture", .string("llama"))
        var originals: [Tensor] = []
        for (i, shape) in shapes.enumerated() {
            let t = uniformTensor(shape, seed: UInt64(i + 1), low: -4, high: 4)
            originals.append(t)
            w.addTensor("t\(i)", t, as: type)
        }
        let path = dir.file("tensors-\(type).gguf")
        try w.write(to: path)
        let g = try GGUFFile(path: path)
        #expect(g.tensorNames == shapes.indices.map { "t\($0)" })
        #expect(g.dataOffset % 32 == 0)
        for (i, shape) in shapes.enumerated() {
            let info = try g.info("t\(i)")
            #expect(info.shape == shape && info.dimensions == shape.reversed() && info.type == type)
            #expect(info.offset % 32 == 0 && info.byteRange.count == type.byteCount(elements: originals[i].count))
            // The stored bytes are exactly the codec's encoding; reading them gives the codec's decoding.
            let x = originals[i].scalars
            var encoded = [UInt8](repeating: 0, count: info.byteRange.count)
            var decoded = [Float](repeating: 0, count: x.count)
            x.withUnsafeBufferPointer { src in
                encoded.withUnsafeMutableBytes { type.elementType!.quantize(src.baseAddress!, count: x.count, into: $0.baseAddress!) }
            }
            encoded.withUnsafeBytes { raw in
                decoded.withUnsafeMutableBufferPointer { type.elementType!.dequantize(raw.baseAddress!, count: x.count, into: $0.baseAddress!) }
            }
            #expect(Array(g.rawBytes(of: info)) == encoded, "t\(i) raw bytes")
            let t = try g.tensor("t\(i)")
            #expect(t.shape == shape && t.scalars == decoded, "t\(i)")
            if type == .f32 { #expect(t.scalars == x) }
            #expect(try g.shape(of: "t\(i)") == shape)
        }
        expectCheckpointError(["tensors-\(type).gguf", "no tensor named 'missing'"]) { _ = try g.tensor("missing") }
    }

    @Test("alignment other than 32 is written as general.alignment and honoured", arguments: [1, 8, 64, 4096])
    func alignment(alignment: Int) throws {
        var w = GGUFWriter(alignment: alignment)
        w.addTensor("a", uniformTensor([3], seed: 1))
        w.addTensor("b", uniformTensor([5, 2], seed: 2), as: .f16)
        w.addTensor("c", uniformTensor([7], seed: 3))
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let g = try GGUFFile(path: dir.write("align.gguf", w.serialized()))
        #expect(g.alignment == alignment)
        #expect(g.metadata["general.alignment"] == (alignment == 32 ? nil : .uint32(UInt32(alignment))))
        for info in g.tensorInfos { #expect(info.byteRange.lowerBound % alignment == 0, "\(info.name)") }
        #expect(try g.tensor("c").scalars == uniformTensor([7], seed: 3).scalars)
    }

    @Test("a known but non-dequantisable type opens, exposes raw bytes, and names itself on conversion")
    func rawOnlyType() throws {
        var w = GGUFWriter()
        w.addTensor("blk.0.ffn_down.weight", uniformTensor([256], seed: 4), as: .q8_0)
        var bytes = w.serialized()
        let name = Array("blk.0.ffn_down.weight".utf8)
        let typeOffset = bytes.firstOffset(of: name)! + name.count + 4 + 8
        bytes.setLE(GGMLType.q3K.rawValue, at: typeOffset)
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let g = try GGUFFile(path: dir.write("k.gguf", bytes))
        let info = try g.info("blk.0.ffn_down.weight")
        #expect(info.type == .q3K && info.byteRange.count == 110 && g.rawBytes(of: info).count == 110)
        expectCheckpointError(["k.gguf", "tensor 'blk.0.ffn_down.weight' type", "found Q3_K", "Q4_1"]) {
            _ = try g.tensor("blk.0.ffn_down.weight")
        }
    }
}
