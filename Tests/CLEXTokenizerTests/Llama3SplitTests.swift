import CLEXTokenizer
import Foundation
import Testing

/// The LLaMA-3 / Qwen2 split against the pieces HF `tokenizers` (its Oniguruma regex) cuts with
/// the same patterns (`Fixtures/make_token_fixtures.py --splits`: hand-written edge cases —
/// contractions in any case, a punctuation or whitespace scalar before letters, newline runs,
/// digit groups, non-ASCII spaces — the SmolLM2 test strings and seeded random mixtures), and a
/// small BPE trained by `tokenizers` in Qwen2's tokenizer.json layout against its ids.
@Suite("LLaMA-3 / Qwen2 split") struct Llama3SplitTests {
    /// The pieces as [start, end) offsets in Unicode scalars, as the fixture stores them.
    static func pieces(_ text: String, digits: Int) -> [[Int]] {
        var t = PreTokenizedText(Array(text.utf8))
        Llama3SplitPreTokenizer(maximumDigits: digits).preTokenize(&t, isFirstSegment: true)
        var start = 0
        return t.strings.map { piece in
            defer { start += piece.unicodeScalars.count }
            return [start, start + piece.unicodeScalars.count]
        }
    }

    /// `text`'s pieces at the fixture's offsets.
    static func strings(_ text: String, _ offsets: Any?) -> [String]? {
        let scalars = Array(text.unicodeScalars)
        return (offsets as? [[Int]])?.map { String(String.UnicodeScalarView(scalars[$0[0]..<$0[1]])) }
    }

    @Test("the fixture was cut with this tool's patterns and has 300+ cases")
    func fixture() throws {
        let root = try Fixtures.json("llama3-split-pieces.json")
        let patterns = try #require(root["patterns"] as? [String: String])
        #expect(patterns["llama3"] == Llama3SplitPreTokenizer.llama3Pattern)
        #expect(patterns["qwen2"] == Llama3SplitPreTokenizer.qwen2Pattern)
        #expect(try Fixtures.cases("llama3-split-pieces.json").count >= 300)
    }

    @Test("pieces equal tokenizers', LLaMA-3 (digits by 3) and Qwen2 (digits alone)")
    func pieces() throws {
        for c in try Fixtures.cases("llama3-split-pieces.json") {
            let text = c["text"] as? String ?? ""
            #expect(Self.pieces(text, digits: 3) == c["llama3"] as? [[Int]], "llama3: '\(show(text))'")
            #expect(Self.pieces(text, digits: 1) == c["qwen2"] as? [[Int]], "qwen2: '\(show(text))'")
        }
    }

    @Test("a GGUF vocabulary with tokenizer.ggml.pre qwen2 or llama-bpe splits so, and its exported tokenizer.json too")
    func ggufAndExport() throws {
        let cases = try Fixtures.cases("llama3-split-pieces.json").prefix(60)
        for (pre, key) in [("qwen2", "qwen2"), ("llama-bpe", "llama3")] {
            var metadata = try Fixtures.smolLM2GGUFMetadata()
            metadata.pre = pre
            let gguf = try BPETokenizer(gguf: metadata)
            let exported = try BPETokenizer(tokenizerJSON: metadata.tokenizerJSON(), config: metadata.tokenizerConfigJSON())
            for c in cases {
                let text = c["text"] as? String ?? ""
                #expect(gguf.preTokenize(text) == Self.strings(text, c[key]), "\(pre) GGUF: '\(show(text))'")
                #expect(exported.encode(text) == gguf.encode(text), "\(pre) exported: '\(show(text))'")
            }
        }
        var phi = try Fixtures.smolLM2GGUFMetadata()
        phi.pre = "phi-2"
        #expect(try BPETokenizer(gguf: phi).preTokenize("I'M 123") == ["I", "'", "M", " 123"])
    }

    @Test("a tokenizer.json in Qwen2's layout (NFC, Split, ByteLevel without regex) gives tokenizers' ids and decodes back (special tokens skipped, its default)")
    func qwen2Layout() throws {
        let t = try BPETokenizer(tokenizerJSON: Fixtures.data("qwen2-layout-tokenizer.json"))
        let cases = try Fixtures.cases("qwen2-layout-token-ids.json")
        #expect(cases.count >= 300)
        for c in cases {
            let text = c["text"] as? String ?? ""
            let expected = ids(c["ids"])
            #expect(t.encode(text) == expected, "'\(show(text))'")
            #expect(t.decode(expected, skipSpecial: true) == c["decoded"] as? String, "decode: '\(show(text))'")
        }
    }
}
