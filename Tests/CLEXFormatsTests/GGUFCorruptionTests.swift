import CLEXFormats
import CLEXTensor
import Foundation
import Testing

/// A small valid GGUF file and the byte positions of its fields, for corrupting.
private struct GGUFFixture {
    var bytes: [UInt8]

    init(extraMetadata: [(String, MetadataValue)] = [], extraTensors: [(String, Tensor, GGMLType)] = []) {
        var w = GGUFWriter()
        w.addMetadata("general.architecture", .string("llama"))
        w.addMetadata("llama.block_count", .uint32(4))
        w.addMetadata("tokenizer.ggml.tokens", .array(elementType: .string, [.string("a"), .string("bc")]))
        w.addMetadata("general.use_flag", .bool(true))
        for (k, v) in extraMetadata { w.addMetadata(k, v) }
        w.addTensor("blk.0.attn_q.weight", uniformTensor([4, 8], seed: 1))
        w.addTensor("output.weight", uniformTensor([2, 32], seed: 2), as: .q8_0)
        for (n, t, type) in extraTensors { w.addTensor(n, t, as: type) }
        bytes = w.serialized()
    }

    /// Offset just after tensor `name`'s name in its tensor info.
    func infoOffset(_ name: String) -> Int {
        var needle: [UInt8] = []
        needle.appendLE(UInt64(name.utf8.count))
        needle += Array(name.utf8)
        return bytes.firstOffset(of: needle)! + needle.count
    }

    /// Offset of the value of metadata key `key` (just after its type id).
    func valueOffset(_ key: String) -> Int {
        var needle: [UInt8] = []
        needle.appendLE(UInt64(key.utf8.count))
        needle += Array(key.utf8)
        return bytes.firstOffset(of: needle)! + needle.count + 4
    }

    /// Opens these bytes as `name` in a fresh directory, expecting an error with `fragments`.
    func expectError(_ name: String, _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let path = dir.write(name, bytes)
        expectCheckpointError([name] + fragments, sourceLocation: sourceLocation) { _ = try GGUFFile(path: path) }
    }
}

@Suite("GGUF corrupt files") struct GGUFCorruptionTests {
    @Test("the unmodified fixture opens")
    func baseline() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let g = try GGUFFile(path: dir.write("ok.gguf", GGUFFixture().bytes))
        #expect(g.tensorNames == ["blk.0.attn_q.weight", "output.weight"])
        #expect(try g.tensor("blk.0.attn_q.weight").scalars == uniformTensor([4, 8], seed: 1).scalars)
    }

    @Test("every truncation before the end of the last tensor is an error naming the file")
    func everyTruncation() throws {
        let full = GGUFFixture().bytes
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let lastEnd = try GGUFFile(path: dir.write("full.gguf", full)).tensorInfos.map(\.byteRange.upperBound).max()!
        var failures = 0
        for cut in 0..<lastEnd {
            let path = dir.write("cut-\(cut).gguf", Array(full[0..<cut]))
            do {
                _ = try GGUFFile(path: path)
                Issue.record("truncation at \(cut) of \(lastEnd) was accepted")
            } catch {
                if !error.description.contains("cut-\(cut).gguf") { failures += 1 }
            }
        }
        #expect(failures == 0)
    }

    @Test("truncation errors name the field being read")
    func truncationFields() {
        let f = GGUFFixture()
        let key1 = f.valueOffset("llama.block_count") - 4 - "llama.block_count".utf8.count - 8
        let tokens = f.valueOffset("tokenizer.ggml.tokens")
        let q = f.infoOffset("blk.0.attn_q.weight")
        let cases: [(Int, [String])] = [
            (2, ["magic", "needs 4 bytes at byte 0, only 2 left"]), (6, ["version"]), (12, ["tensor count"]),
            (20, ["metadata key/value count"]),
            // Counts are bounded by the bytes left before anything else is read.
            (30, ["metadata key/value count: expected at most 0 (6 bytes left in the file), found 4"]),
            (key1 + 10, ["metadata key #1 name length: expected at most 2 (2 bytes left in the file), found 17"]),
            (key1 + 8 + 17 + 2, ["metadata key 'llama.block_count' value type"]),
            (key1 + 8 + 17 + 4 + 1, ["metadata key 'llama.block_count'", "needs 4 bytes"]),
            (tokens + 6, ["metadata key 'tokenizer.ggml.tokens' array length"]),
            (tokens + 4 + 8 + 9 + 3, ["metadata key 'tokenizer.ggml.tokens' array length: expected at most 1"]),
            (q - 19 - 4, ["tensor info #0 name length"]), (q - 3, ["tensor info #0 name"]),
            (q + 2, ["tensor 'blk.0.attn_q.weight' dimension count"]), (q + 14, ["tensor 'blk.0.attn_q.weight' dimension 1"]),
            (q + 22, ["tensor 'blk.0.attn_q.weight' type"]), (q + 26, ["tensor 'blk.0.attn_q.weight' offset"]),
        ]
        for (cut, fragments) in cases {
            var g = f
            g.bytes = Array(f.bytes[0..<cut])
            g.expectError("cut-\(cut).gguf", fragments)
        }
    }

    @Test("tensor data cut short names the tensor and its byte range")
    func dataCut() {
        var f = GGUFFixture()
        f.bytes.removeLast(40)
        f.expectError("short.gguf", ["tensor 'output.weight' data", "extend past the end"])
    }

    @Test("wrong magic and unsupported versions")
    func magicAndVersion() {
        var f = GGUFFixture()
        f.bytes[3] = UInt8(ascii: "X")
        f.expectError("magic.gguf", ["magic", "expected \"GGUF\"", "found \"GGUX\""])
        for (v, fragment) in [(UInt32(1), "found 1 (GGUF v1"), (4, "found 4"), (UInt32(3).byteSwapped, "big-endian")] {
            var g = GGUFFixture()
            g.bytes.setLE(v, at: 4)
            g.expectError("version.gguf", ["version", "expected 2 or 3", fragment])
        }
    }

    @Test("counts larger than the file are errors, not allocations")
    func hugeCounts() {
        var f = GGUFFixture()
        f.bytes.setLE(UInt64(1) << 40, at: 8)
        f.expectError("tensors.gguf", ["tensor count", "expected at most", "found 1099511627776"])
        f = GGUFFixture()
        f.bytes.setLE(UInt64.max, at: 16)
        f.expectError("keys.gguf", ["metadata key/value count", "found 18446744073709551615"])
        f = GGUFFixture()
        f.bytes.setLE(UInt64(1) << 50, at: f.valueOffset("tokenizer.ggml.tokens") + 4)
        f.expectError("array.gguf", ["metadata key 'tokenizer.ggml.tokens' array length", "expected at most"])
        f = GGUFFixture()
        f.bytes.setLE(UInt64(1) << 62, at: f.valueOffset("general.architecture"))
        f.expectError("string.gguf", ["metadata key 'general.architecture' length", "expected at most"])
        f = GGUFFixture()
        let name = f.infoOffset("output.weight") - "output.weight".utf8.count - 8
        f.bytes.setLE(UInt64.max - 3, at: name)
        f.expectError("name.gguf", ["tensor info #1 name length"])
    }

    @Test("tensor offsets: past the end, misaligned, data past the end")
    func offsets() {
        var f = GGUFFixture()
        let q = f.infoOffset("output.weight")
        f.bytes.setLE(UInt64(1) << 20, at: q + 4 + 16 + 4)
        f.expectError("offset.gguf", ["tensor 'output.weight' offset: expected an offset inside the file", "found 1048576"])
        f = GGUFFixture()
        f.bytes.setLE(UInt64.max, at: q + 4 + 16 + 4)
        f.expectError("huge-offset.gguf", ["tensor 'output.weight' offset", "found 18446744073709551615"])
        f = GGUFFixture()
        f.bytes.setLE(UInt64(4), at: f.infoOffset("blk.0.attn_q.weight") + 4 + 16 + 4)
        f.expectError("misaligned.gguf", ["tensor 'blk.0.attn_q.weight' offset", "expected a multiple of 32, found 4"])
        f = GGUFFixture()
        f.bytes.setLE(UInt64(160), at: q + 4 + 16 + 4)
        f.expectError("range.gguf", ["tensor 'output.weight' data (offset 160", "bytes", "..<", "extend past the end"])
    }

    @Test("type ids: unknown ids name the tensor and id")
    func unknownType() {
        for id in [UInt32(4), 31, 99, UInt32.max] {
            var f = GGUFFixture()
            f.bytes.setLE(id, at: f.infoOffset("output.weight") + 4 + 16)
            f.expectError("type.gguf", ["tensor 'output.weight' type", "unknown type id \(id)"])
        }
    }

    @Test("dimensions: product overflow, too many, not a whole number of blocks")
    func dimensions() {
        var f = GGUFFixture()
        let q = f.infoOffset("output.weight")
        f.bytes.setLE(UInt64(1) << 40, at: q + 4)
        f.bytes.setLE(UInt64(1) << 40, at: q + 12)
        f.expectError("overflow.gguf", ["tensor 'output.weight' dimensions", "overflows"])
        f = GGUFFixture()
        f.bytes.setLE(UInt64.max, at: q + 4)
        f.expectError("extent.gguf", ["tensor 'output.weight' dimension 0", "overflows"])
        f = GGUFFixture()
        f.bytes.setLE(UInt32(5), at: q)
        f.expectError("rank.gguf", ["tensor 'output.weight' dimension count", "expected at most 4, found 5"])
        f = GGUFFixture()
        f.bytes.setLE(UInt64(33), at: q + 4)
        f.expectError("blocks.gguf", ["tensor 'output.weight' dimension 0", "multiple of Q8_0's block size 32, found 33"])
        f = GGUFFixture()
        f.bytes.setLE(UInt64(64), at: q + 4)
        f.expectError("size.gguf", ["tensor 'output.weight' data", "extend past the end"])
    }

    @Test("duplicate metadata keys and tensor names")
    func duplicates() {
        GGUFFixture(extraMetadata: [("llama.block_count", .uint32(5))])
            .expectError("dupkey.gguf", ["duplicate metadata key 'llama.block_count'"])
        GGUFFixture(extraTensors: [("output.weight", uniformTensor([32], seed: 3), .f32)])
            .expectError("duptensor.gguf", ["duplicate tensor 'output.weight'"])
    }

    @Test("invalid UTF-8, bad bools, bad value types, bad alignment, deep nesting")
    func values() {
        var f = GGUFFixture()
        f.bytes[f.valueOffset("general.architecture") + 8 + 1] = 0xFF
        f.expectError("utf8.gguf", ["metadata key 'general.architecture'", "UTF-8"])
        f = GGUFFixture()
        f.bytes[f.infoOffset("output.weight") - 2] = 0xC3
        f.expectError("utf8name.gguf", ["tensor info #1 name", "UTF-8"])
        f = GGUFFixture()
        f.bytes[f.valueOffset("general.use_flag")] = 2
        f.expectError("bool.gguf", ["metadata key 'general.use_flag'", "expected bool 0 or 1, found 2"])
        f = GGUFFixture()
        f.bytes.setLE(UInt32(13), at: f.valueOffset("llama.block_count") - 4)
        f.expectError("vtype.gguf", ["metadata key 'llama.block_count' value type", "found 13"])
        f = GGUFFixture()
        f.bytes.setLE(UInt32(77), at: f.valueOffset("tokenizer.ggml.tokens"))
        f.expectError("atype.gguf", ["metadata key 'tokenizer.ggml.tokens' array element type", "found 77"])
        GGUFFixture(extraMetadata: [("general.alignment", .uint32(24))])
            .expectError("align.gguf", ["metadata key 'general.alignment'", "power of two", "24"])
        GGUFFixture(extraMetadata: [("general.alignment", .string("32"))])
            .expectError("align-type.gguf", ["metadata key 'general.alignment'", "string"])
        var deep = MetadataValue.array(elementType: .uint8, [])
        for _ in 0..<20 { deep = .array(elementType: .array, [deep]) }
        GGUFFixture(extraMetadata: [("t.deep", deep)]).expectError("deep.gguf", ["metadata key 't.deep'", "nested at most 16"])
    }

    @Test("random byte corruption never traps")
    func fuzz() {
        let base = GGUFFixture().bytes
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        var rng = SeededGenerator(seed: 99)
        var opened = 0
        for trial in 0..<300 {
            var bytes = base
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = Int(rng.next() % UInt64(bytes.count))
                bytes[at] = UInt8(truncatingIfNeeded: rng.next())
            }
            let path = dir.write("fuzz-\(trial).gguf", bytes)
            if let g = try? GGUFFile(path: path) {
                opened += 1
                for name in g.tensorNames { _ = try? g.tensor(name) }
            }
        }
        #expect(opened < 300, "some corruptions must be detected")
    }
}
