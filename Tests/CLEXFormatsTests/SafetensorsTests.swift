import CLEXFormats
import CLEXTensor
import Foundation
import Testing

/// Tests/Fixtures/CLEXFormats, found from this file's path (no bundle resources needed).
private let fixtureDirectory: String = {
    var url = URL(fileURLWithPath: #filePath)
    url.deleteLastPathComponent()
    url.deleteLastPathComponent()
    return url.appendingPathComponent("Fixtures/CLEXFormats").path
}()

/// The tensors of `make_safetensors_fixture.py`.
private func fixtureTensors() throws -> [(name: String, tensor: Tensor, dtype: SafetensorsDType)] {
    [("layer.weight", try Tensor(shape: [2, 3], values: (0..<6).map { Float($0) * 0.5 - 1 }), .f32),
     ("layer.half", try Tensor(shape: [4], values: [0.5, -2, 3.25, 65504]), .f16),
     ("layer.brain", try Tensor(shape: [2, 2], values: [1, -1.5, 256, 0.0078125]), .bf16),
     ("scalar", Tensor(scalar: 7), .f32),
     ("empty", Tensor(zeros: [0, 3]), .f32)]
}

/// A hand-made safetensors file from a header string and a data buffer.
private func safetensorsBytes(_ header: String, data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.appendLE(UInt64(header.utf8.count))
    return out + Array(header.utf8) + data
}

@Suite("safetensors") struct SafetensorsTests {
    @Test("reads the file written by the Python safetensors library")
    func readsPythonFixture() throws {
        let f = try SafetensorsFile(path: fixtureDirectory + "/python_written.safetensors")
        #expect(f.tensorNames == ["empty", "layer.weight", "scalar", "layer.brain", "layer.half"])
        #expect(try f.metadata.string("format") == "pt")
        for (name, tensor, dtype) in try fixtureTensors() {
            let t = try f.tensor(name)
            #expect(t.shape == tensor.shape && t.scalars == tensor.scalars, "\(name)")
            #expect(try f.info(name).dtype == dtype)
        }
        #expect(f.dataOffset % 8 == 0)
    }

    @Test("the writer produces the Python library's bytes exactly")
    func matchesPythonBytes() throws {
        var w = SafetensorsWriter(metadata: ["format": "pt"])
        for (name, tensor, dtype) in try fixtureTensors().reversed() { w.addTensor(name, tensor, as: dtype) }
        #expect(w.serialized() == readBytes(fixtureDirectory + "/python_written.safetensors"))
    }

    @Test("header: names, dtypes, shapes, contiguous offsets from 0, space padding to 8 bytes")
    func headerFormat() {
        var w = SafetensorsWriter(metadata: ["b": "2", "a": "quote\" back\\ nl\n"])
        w.addTensor("z.bias", uniformTensor([3], seed: 1))
        w.addTensor("a.weight", uniformTensor([2, 3], seed: 2))
        w.addTensor("m.half", uniformTensor([5], seed: 3), as: .f16)
        w.addTensor("m.brain", uniformTensor([1, 1], seed: 4), as: .bf16)
        let json = "{\"__metadata__\":{\"a\":\"quote\\\" back\\\\ nl\\n\",\"b\":\"2\"},"
            + "\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
            + "\"z.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]},"
            + "\"m.brain\":{\"dtype\":\"BF16\",\"shape\":[1,1],\"data_offsets\":[36,38]},"
            + "\"m.half\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[38,48]}}"
        let header = w.header()
        #expect(header.hasPrefix(json) && header.utf8.count % 8 == 0 && header.utf8.count - json.utf8.count < 8)
        #expect(header.dropFirst(json.count).allSatisfy { $0 == " " })
        let bytes = w.serialized()
        #expect(bytes.count == 8 + header.utf8.count + 48)
        #expect(Array(bytes[0..<8]) == { var b: [UInt8] = []; b.appendLE(UInt64(header.utf8.count)); return b }())
    }

    @Test("write then read round-trips F32 exactly and F16/BF16 to their rounding; writes are atomic")
    func roundTrip() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let a = uniformTensor([17, 65], seed: 1, low: -100, high: 100)
        var w = SafetensorsWriter(metadata: ["format": "pt", "note": "ünïcode ✓"])
        w.addTensor("model.layers.0.mlp.up_proj.weight", a)
        w.addTensor("h", a, as: .f16)
        w.addTensor("b", a, as: .bf16)
        w.addTensor("s", Tensor(scalar: -3))
        let path = dir.file("model.safetensors")
        try w.write(to: path)
        try w.write(to: path)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(leftovers == ["model.safetensors"], "no temporary files remain")
        let f = try SafetensorsFile(path: path)
        #expect(try f.metadata.string("note") == "ünïcode ✓")
        #expect(try f.tensor("model.layers.0.mlp.up_proj.weight").scalars == a.scalars)
        #expect(try f.tensor("h").scalars == a.scalars.map { Float(Float16($0)) })
        let bf = try f.tensor("b").scalars
        #expect(zip(bf, a.scalars).allSatisfy { abs($0 - $1) <= abs($1) / 256 })
        #expect(try f.tensor("s").shape == [] && f.tensor("s").item == -3)
        #expect(try f.shape(of: "h") == [17, 65])
        expectCheckpointError(["model.safetensors", "no tensor named 'q'"]) { _ = try f.tensor("q") }
        expectCheckpointError(["missing-dir/x.safetensors", "create temporary file"]) {
            try w.write(to: dir.file("missing-dir/x.safetensors"))
        }
    }

    @Test("other dtypes open (layout checked) but name tensor and dtype on conversion")
    func otherDTypes() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let header = "{\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},\"f4\":{\"dtype\":\"F4\",\"shape\":[4],\"data_offsets\":[16,18]}}"
        let f = try SafetensorsFile(path: dir.write("ids.safetensors", safetensorsBytes(header, data: [UInt8](repeating: 1, count: 18))))
        #expect(try f.info("ids").byteRange == (8 + header.utf8.count)..<(8 + header.utf8.count + 16))
        #expect(f.rawBytes(of: try f.info("f4")).count == 2)
        expectCheckpointError(["ids.safetensors", "tensor 'ids' type", "expected one of F32, F16, BF16", "found I64"]) {
            _ = try f.tensor("ids")
        }
    }

    @Test("corrupt headers are errors naming the file and the field", arguments: [
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", "header at byte", "expected '}'"),
        ("[1,2]", "header", "expected a JSON object, found array"),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"w\":{}}", "header at byte 62", "duplicate key 'w'"),
        ("{\"w\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", "tensor 'w' type", "unknown type id \"Q4\""),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,8]}}", "tensor 'w' shape", "negative"),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", "tensor 'w' shape", "number"),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", "tensor 'w' data_offsets [0, 12]", "need 8 bytes, found 12"),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", "tensor 'w' data_offsets", "begin ≤ end"),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", "tensor 'w' data_offsets", "8..<24 extend past the end (16 bytes)"),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", "tensor 'w' shape", "overflows"),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", "tensor 'w' data_offsets", "found nothing"),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"v\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
         "tensor 'v' data_offsets", "no overlap with tensor 'w'"),
        ("{\"__metadata__\":{\"a\":1}}", "header '__metadata__' key 'a'", "expected a string, found integer"),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} \u{1}", "header at byte", "unexpected bytes after"),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"n\":\"\u{7}\"}", "header at byte", "control character"),
    ])
    func corruptHeaders(header: String, field: String, detail: String) {
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let path = dir.write("bad.safetensors", safetensorsBytes(header, data: [UInt8](repeating: 0, count: 16)))
        expectCheckpointError(["bad.safetensors", field, detail]) { _ = try SafetensorsFile(path: path) }
    }

    @Test("header length and truncation errors; invalid UTF-8 in the header")
    func lengths() {
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        var bytes = safetensorsBytes("{}", data: [])
        bytes.setLE(UInt64(1) << 60, at: 0)
        let p1 = dir.write("len.safetensors", bytes)
        expectCheckpointError(["len.safetensors", "header length", "expected at most 2", "found 1152921504606846976"]) {
            _ = try SafetensorsFile(path: p1)
        }
        let p2 = dir.write("short.safetensors", [1, 2, 3])
        expectCheckpointError(["short.safetensors", "header length", "needs 8 bytes at byte 0, only 3 left"]) {
            _ = try SafetensorsFile(path: p2)
        }
        var utf = safetensorsBytes("{\"__metadata__\":{\"a\":\"xx\"}}", data: [])
        utf[utf.count - 4] = 0xFF
        let p3 = dir.write("utf.safetensors", utf)
        expectCheckpointError(["utf.safetensors", "header at byte", "UTF-8"]) { _ = try SafetensorsFile(path: p3) }
        expectCheckpointError(["nowhere.safetensors", "open failed"]) { _ = try SafetensorsFile(path: dir.file("nowhere.safetensors")) }
        expectCheckpointError([dir.path, "not a regular file"]) { _ = try SafetensorsFile(path: dir.path) }
    }

    @Test("sharded checkpoints resolve names through model.safetensors.index.json")
    func sharded() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let (a, b, c) = (uniformTensor([4, 3], seed: 1), uniformTensor([5], seed: 2), uniformTensor([2, 2], seed: 3))
        var w1 = SafetensorsWriter(), w2 = SafetensorsWriter()
        w1.addTensor("model.embed_tokens.weight", a)
        w1.addTensor("model.norm.weight", b)
        w2.addTensor("lm_head.weight", c, as: .bf16)
        try w1.write(to: dir.file("model-00001-of-00002.safetensors"))
        try w2.write(to: dir.file("model-00002-of-00002.safetensors"))
        let index = """
        {"metadata": {"total_size": 68, "format": "pt"},
         "weight_map": {"lm_head.weight": "model-00002-of-00002.safetensors",
                        "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
                        "model.norm.weight": "model-00001-of-00002.safetensors"}}
        """
        let indexPath = dir.write(ShardedSafetensors.indexFileName, Array(index.utf8))
        let s = try ShardedSafetensors(indexPath: indexPath)
        #expect(s.tensorNames == ["lm_head.weight", "model.embed_tokens.weight", "model.norm.weight"])
        #expect(s.shards.count == 2)
        #expect(try s.metadata.int("total_size") == 68)
        #expect(try s.tensor("model.norm.weight").scalars == b.scalars)
        #expect(try s.shape(of: "lm_head.weight") == [2, 2])
        #expect(try s.shard(for: "lm_head.weight").path.hasSuffix("model-00002-of-00002.safetensors"))
        let opened = try Checkpoint.open(dir.path)
        #expect(opened is ShardedSafetensors && opened.tensorNames.count == 3)
        expectCheckpointError([ShardedSafetensors.indexFileName, "no tensor named 'x'"]) { _ = try s.tensor("x") }

        for (body, fragments) in [
            ("{\"weight_map\": {\"t\": \"../evil.safetensors\"}}", ["weight_map entry 't'", "relative to the index's directory"]),
            ("{\"weight_map\": {\"t\": \"model-00001-of-00002.safetensors\"}}", ["model-00001-of-00002.safetensors", "no tensor named 't'"]),
            ("{\"weight_map\": {\"t\": \"absent.safetensors\"}}", ["absent.safetensors", "open failed"]),
            ("{\"weight_map\": [1]}", ["weight_map", "found array"]),
            ("{\"weight_map\": {\"t\": 3}}", ["weight_map entry 't'", "expected a file name, found integer"]),
            ("{\"weight_map\": {", ["bad.index.json", "index at byte 16", "expected a string key"]),
        ] {
            let p = dir.write("bad.index.json", Array(body.utf8))
            expectCheckpointError(fragments) { _ = try ShardedSafetensors(indexPath: p) }
        }
    }

    @Test("random byte corruption never traps")
    func fuzz() throws {
        let base = readBytes(fixtureDirectory + "/python_written.safetensors")
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        var rng = SeededGenerator(seed: 3)
        var rejected = 0
        for _ in 0..<300 {
            var bytes = base
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            if rng.next() % 4 == 0 { bytes.removeLast(Int(rng.next() % UInt64(bytes.count))) }
            let path = dir.write("fuzz.safetensors", bytes)
            if let f = try? SafetensorsFile(path: path) {
                for name in f.tensorNames { _ = try? f.tensor(name) }
            } else {
                rejected += 1
            }
        }
        #expect(rejected > 0)
    }
}
