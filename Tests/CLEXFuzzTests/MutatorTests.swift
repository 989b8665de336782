import CLEXFuzz
import Testing

@Suite("Mutator")
struct MutatorTests {
    static let json = Array("{\"a\": [1, 2.5, -3], \"b\": \"text\", \"c\": {\"d\": null, \"e\": true}}".utf8)

    @Test("the same seed gives the same mutations; another seed gives others")
    func deterministic() {
        var a = FuzzMutator(seed: 7), b = FuzzMutator(seed: 7), c = FuzzMutator(seed: 8)
        var differs = false
        for _ in 0..<200 {
            let x = a.mutate(Self.json, format: .json, donor: Self.json)
            #expect(x == b.mutate(Self.json, format: .json, donor: Self.json))
            differs = differs || x != c.mutate(Self.json, format: .json, donor: Self.json)
        }
        #expect(differs)
    }

    @Test("binary mutations change the input and respect the size limit")
    func binaryEdits() {
        var mutator = FuzzMutator(seed: 1, maximumSize: 300)
        let input = [UInt8](repeating: 0x41, count: 256)
        var changed = 0, shorter = 0, longer = 0
        for _ in 0..<2000 {
            let out = mutator.mutate(input, format: .binary, donor: Array("donor".utf8))
            #expect(out.count <= 300)
            if out != input { changed += 1 }
            if out.count < input.count { shorter += 1 }
            if out.count > input.count { longer += 1 }
        }
        #expect(changed > 1800)
        #expect(shorter > 100)
        #expect(longer > 100)
    }

    @Test("boundary integers are written little-endian at 4/8-byte aligned offsets")
    func alignedIntegers() {
        var mutator = FuzzMutator(seed: 3)
        var found = false
        for _ in 0..<5000 where !found {
            var bytes = [UInt8](repeating: 0, count: 64)
            mutator.mutateBytes(&bytes, donor: [])
            // 0xFFFFFFFF as a 4-byte value at an aligned offset, with zeros around it.
            guard bytes.count == 64 else { continue }
            for offset in stride(from: 0, to: 64, by: 4) where Array(bytes[offset..<(offset + 4)]) == [0xFF, 0xFF, 0xFF, 0xFF] {
                if bytes.enumerated().allSatisfy({ $0.offset / 4 == offset / 4 || $0.element == 0 }) { found = true }
            }
        }
        #expect(found)
    }

    @Test("JSON text splits into strings, numbers, words and punctuation")
    func tokens() {
        let tokens = FuzzMutator.jsonTokens(Array("{\"k\\\"\": [-1.5e3, true]}".utf8))
        #expect(tokens.map(\.kind) == [.open, .string, .colon, .open, .number, .comma, .word, .close, .close])
        #expect(tokens[1].range == 1..<6)
        #expect(tokens[4].range == 9..<15)
    }

    @Test("JSON edits replace numbers, duplicate members and nest values deeply")
    func jsonEdits() {
        var mutator = FuzzMutator(seed: 5, dictionary: ["rope_scaling"])
        var hugeNumber = false, duplicateKey = false, deep = false, dictionaryWord = false
        for _ in 0..<5000 {
            var bytes = Self.json
            mutator.mutateJSON(&bytes)
            let text = String(decoding: bytes, as: UTF8.self)
            hugeNumber = hugeNumber || text.contains("18446744073709551616") || text.contains("1e309")
            duplicateKey = duplicateKey || text.components(separatedBy: "\"b\": \"text\"").count == 3
            deep = deep || text.contains(String(repeating: "[", count: 200))
            dictionaryWord = dictionaryWord || text.contains("\"rope_scaling\"")
        }
        #expect(hugeNumber)
        #expect(duplicateKey)
        #expect(deep)
        #expect(dictionaryWord)
    }

    @Test("error kinds blank out numbers and quoted text")
    func errorKinds() {
        #expect(FuzzErrorKind.normalized("tensor 'a.b' needs 12 bytes at 3, found \"x\"")
                == "tensor '…' needs # bytes at #, found \"…\"")
    }
}
