import CLEXFormats
import CLEXTensor
import Foundation
import Testing

/// Reads every tensor of any checkpoint through the format-neutral protocol.
private func readAll(_ ck: any CheckpointTensors) throws -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for name in ck.tensorNames {
        let t = try ck.tensor(name)
        #expect(try ck.shape(of: name) == t.shape, "\(name)")
        out[name] = t
    }
    return out
}

@Suite("checkpoint formats behind one interface") struct CheckpointTests {
    @Test("Checkpoint.open picks the format by content and name; tensors read alike")
    func open() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let (w, b) = (uniformTensor([4, 8], seed: 1), uniformTensor([8], seed: 2))
        var g = GGUFWriter()
        g.addMetadata("general.architecture", .string("llama"))
        g.addTensor("w", w)
        g.addTensor("b", b)
        try g.write(to: dir.file("model.weights"))
        var s = SafetensorsWriter(metadata: ["format": "pt"])
        s.addTensor("w", w)
        s.addTensor("b", b)
        try s.write(to: dir.file("model.safetensors"))
        let gguf = try Checkpoint.open(dir.file("model.weights"))
        let st = try Checkpoint.open(dir.file("model.safetensors"))
        let folder = try Checkpoint.open(dir.path)
        #expect(gguf is GGUFFile && st is SafetensorsFile && folder is SafetensorsFile)
        #expect(try gguf.metadata.string("general.architecture") == "llama" && st.metadata.string("format") == "pt")
        for ck in [gguf, st, folder] {
            let all = try readAll(ck)
            #expect(Set(all.keys) == ["w", "b"] && all["w"]?.scalars == w.scalars && all["b"]?.scalars == b.scalars)
        }
        expectCheckpointError(["empty.bin", "header dim", "needs 4 bytes"]) { _ = try Checkpoint.open(dir.write("empty.bin", [])) }
        expectCheckpointError(["nothing-here", "open failed"]) { _ = try Checkpoint.open(dir.file("nothing-here")) }
    }

    @Test("errors describe themselves with the file path, are equatable, and expose the path")
    func errors() {
        let e = CheckpointError.outOfBounds(path: "/m/x.gguf", field: "tensor 'a' data", start: 10, end: 20, limit: 15)
        #expect(e.description == "/m/x.gguf: tensor 'a' data: bytes 10..<20 extend past the end (15 bytes)")
        #expect(e.path == "/m/x.gguf" && e == .outOfBounds(path: "/m/x.gguf", field: "tensor 'a' data", start: 10, end: 20, limit: 15))
        #expect(CheckpointError.missingTensor(path: "p", name: "n").description == "p: no tensor named 'n'")
    }
}

@Suite("bounds-checked binary cursor") struct BinaryCursorTests {
    @Test("reads little-endian values and names the field when bytes run out")
    func reads() throws {
        var bytes: [UInt8] = []
        bytes.appendLE(UInt32(0xDEAD_BEEF))
        bytes.appendLE(Int16(-2))
        bytes.appendFloat(1.5)
        bytes.appendLE(Double(-0.25).bitPattern)
        bytes += Array("héllo".utf8) + [0xFF, 0xFE]
        try bytes.withUnsafeBytes { raw in
            var c = BinaryCursor(bytes: raw, path: "mem.bin")
            #expect(try c.read(UInt32.self, "a") == 0xDEAD_BEEF)
            #expect(try c.read(Int16.self, "b") == -2)
            #expect(try c.readFloat32("c") == 1.5)
            #expect(try c.readFloat64("d") == -0.25)
            #expect(try c.readUTF8(6, "e") == "héllo")
            #expect(c.remaining == 2)
            expectCheckpointError(["mem.bin", "f at byte 24", "UTF-8"]) { var d = c; _ = try d.readUTF8(2, "f") }
            expectCheckpointError(["mem.bin", "g needs 4 bytes at byte 24, only 2 left"]) { var d = c; _ = try d.read(UInt32.self, "g") }
            expectCheckpointError(["mem.bin", "h needs -1 bytes"]) { var d = c; _ = try d.readBytes(-1, "h") }
            expectCheckpointError(["mem.bin", "i: expected at most 0 (2 bytes left in the file), found 1"]) {
                _ = try c.boundedCount(1, minimumElementSize: 3, "i")
            }
            #expect(try c.boundedCount(2, minimumElementSize: 1, "j") == 2)
            expectCheckpointError(["mem.bin", "k: bytes 99..<99 extend past the end (26 bytes)"]) { var d = c; try d.seek(to: 99, "k") }
            try c.skip(2, "l")
            #expect(c.remaining == 0 && c.position == 26)
            try c.seek(to: 4, "m")
            #expect(try c.read(Int16.self, "n") == -2)
        }
    }

    @Test("a length field larger than the rest of the buffer is rejected before allocating")
    func lengths() {
        var bytes: [UInt8] = []
        bytes.appendLE(UInt64.max)
        bytes.withUnsafeBytes { raw in
            var c = BinaryCursor(bytes: raw, path: "len.bin")
            expectCheckpointError(["len.bin", "name length", "found 18446744073709551615"]) { _ = try c.readLength("name length") }
        }
    }
}
