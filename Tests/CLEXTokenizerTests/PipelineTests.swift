import CLEXTokenizer
import Foundation
import Testing

/// The pipeline stages on their own: byte table, GPT-2 split, digits, Metaspace, decoders,
/// added-token matching, and the BPE merge order.
@Suite("tokenizer pipeline stages") struct PipelineTests {
    @Test("the GPT-2 byte table is a bijection with the known anchors")
    func byteTable() {
        let chars = ByteLevel.characters
        #expect(chars.count == 256 && Set(chars).count == 256)
        #expect(chars[0x20] == "Ġ" && chars[0x0A] == "Ċ" && chars[0x09] == "ĉ" && chars[0x41] == "A" && chars[0x00] == "Ā")
        #expect(chars[0xA0] == "ł" && chars[0xAD] == "Ń" && chars[0xFF] == "ÿ" && chars[0x7F] == "ġ")
        for b in 0..<256 { #expect(ByteLevel.byte(for: chars[b]) == UInt8(b)) }
        #expect(ByteLevel.encode(Array("é !".utf8)) == "Ã©Ġ!")
        #expect(ByteLevel.decode("Ã©Ġ!") == Array("é !".utf8))
        #expect(ByteLevel.decode("€") == nil)
    }

    func split(_ text: String, _ p: any PreTokenizer) -> [String] {
        var t = PreTokenizedText(Array(text.utf8))
        p.preTokenize(&t, isFirstSegment: true)
        return t.strings
    }

    @Test("GPT-2 split follows the regex alternation exactly")
    func gpt2Split() {
        let p = ByteLevelPreTokenizer(addPrefixSpace: false)
        #expect(split("Hello world", p) == ["Hello", " world"])
        #expect(split("hello   world", p) == ["hello", "  ", " world"])
        #expect(split("a\t\tb", p) == ["a", "\t", "\t", "b"])
        #expect(split("a\n\n b", p) == ["a", "\n\n", " b"])
        #expect(split("end  ", p) == ["end", "  "])
        #expect(split("I'm they'll we've 'tis", p) == ["I", "'m", " they", "'ll", " we", "'ve", " '", "tis"])
        #expect(split("DON'T", p) == ["DON", "'", "T"])
        #expect(split("x=1;  y", p) == ["x", "=", "1", ";", " ", " y"])
        #expect(split("año 2024!!", p) == ["año", " 2024", "!!"])
        #expect(split("e\u{301}", p) == ["e", "\u{301}"])
        #expect(split("a\u{A0}\u{A0}b", p) == ["a", "\u{A0}", "\u{A0}", "b"])
        #expect(split("½Ⅻ٣ x", p) == ["½Ⅻ٣", " x"])
        #expect(split("你好 世界", p) == ["你好", " 世界"])
        #expect(split("😀😀 ok", p) == ["😀😀", " ok"])
        #expect(split("", p) == [])
        #expect(split(" ", p) == [" "])
        #expect(split("hi", ByteLevelPreTokenizer(addPrefixSpace: true)) == [" hi"])
        #expect(split("a b", ByteLevelPreTokenizer(useRegex: false)) == ["a b"])
    }

    @Test("digits are isolated one by one or as runs")
    func digits() {
        #expect(split("ab12c3", DigitsPreTokenizer(individualDigits: true)) == ["ab", "1", "2", "c", "3"])
        #expect(split("ab12c3", DigitsPreTokenizer(individualDigits: false)) == ["ab", "12", "c", "3"])
    }

    @Test("Metaspace replaces spaces, prepends per scheme and splits before ▁")
    func metaspace() {
        #expect(split("hi  there", MetaspacePreTokenizer()) == ["▁hi", "▁", "▁there"])
        #expect(split("hi there", MetaspacePreTokenizer(prependScheme: .never, split: false)) == ["hi▁there"])
        #expect(split(" hi", MetaspacePreTokenizer(prependScheme: .first, split: false)) == ["▁hi"])
        var later = PreTokenizedText(Array("hi".utf8))
        MetaspacePreTokenizer(prependScheme: .first).preTokenize(&later, isFirstSegment: false)
        #expect(later.strings == ["hi"])
    }

    @Test("decoders: byte fallback, replace, fuse and strip")
    func decoders() {
        let llama = DecoderSequence([ReplaceDecoder(pattern: "▁", content: " "), ByteFallbackDecoder(), FuseDecoder(),
                                     StripDecoder(content: " ", start: 1, stop: 0)])
        let pieces = ["▁Hi", "<0xE2>", "<0x82>", "<0xac>", "▁x", "<0xZZ>"].map { Array($0.utf8) }
        #expect(llama.decode(pieces) == [Array("Hi€ x<0xZZ>".utf8)])
        #expect(MetaspaceDecoder().decode([Array("▁a▁b".utf8), Array("▁c".utf8)]) == [Array("a b".utf8), Array(" c".utf8)])
        #expect(ByteLevelDecoder().decode([Array("ĠhiĊ".utf8), Array("<|x|>".utf8)]) == [Array(" hi\n".utf8), Array("<|x|>".utf8)])
    }

    /// A character-level BPE over "a", "b", "c" and merges that test the order.
    func tinyModel(_ merges: [(String, String)]) throws -> BPEModel {
        let vocab: [String: Int32] = ["a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5, "aa": 6, "aaaa": 7, "<unk>": 8]
        return try BPEModel(unit: .characters, vocabulary: vocab, merges: merges, unknownID: 8, fuseUnknown: true)
    }

    func tokenize(_ m: BPEModel, _ s: String) -> [Int32] {
        var ids: [Int32] = []
        let bytes = Array(s.utf8)
        bytes.withUnsafeBufferPointer { m.tokenize($0, 0..<bytes.count, into: &ids) }
        return ids
    }

    @Test("merges apply lowest rank first, leftmost first among equals, short and long pieces alike")
    func mergeOrder() throws {
        let m1 = try tinyModel([("b", "c"), ("a", "b"), ("a", "bc")])
        #expect(tokenize(m1, "abc") == [5])
        let m2 = try tinyModel([("a", "b"), ("b", "c"), ("ab", "c")])
        #expect(tokenize(m2, "abc") == [5])
        #expect(tokenize(m2, "abcbc") == [5, 4])
        let m3 = try tinyModel([("a", "a"), ("aa", "aa")])
        #expect(tokenize(m3, "aaaaa") == [7, 0])
        #expect(tokenize(m3, "xyaz") == [8, 0, 8])
        // Long pieces take the heap path; the result must equal merging pieces of the same pattern.
        let long = String(repeating: "aaaaabc", count: 40)
        #expect(tokenize(m3, long) == Array(repeating: [7, 0, 1, 2], count: 40).flatMap { $0 })
        #expect(tokenize(m2, long) == Array(repeating: [0, 0, 0, 0, 5], count: 40).flatMap { $0 })
    }

    @Test("added tokens: leftmost-longest, lstrip/rstrip, special only when parsed")
    func addedTokens() throws {
        let vocab: [String: Int32] = ["a": 0, "b": 1, " ": 2]
        let model = try BPEModel(unit: .characters, vocabulary: vocab, merges: [])
        let t = BPETokenizer(
            vocabulary: ["a", "b", " "],
            addedTokens: [AddedToken(content: "<x>", id: 3, special: true),
                          AddedToken(content: "<x>>", id: 4, special: true),
                          AddedToken(content: "[m]", id: 5, special: false, leftStrip: true, rightStrip: true)],
            normalizer: nil, preTokenizer: nil, model: model, decoder: nil)
        #expect(t.vocabularySize == 6)
        #expect(t.encode("a<x>>b<x>a", addSpecial: false) == [0, 4, 1, 3, 0])
        #expect(t.encode("a  [m]  b", addSpecial: false) == [0, 5, 1])
        #expect(t.encode("a<x>", addSpecial: false, parseSpecial: false) == [0])  // '<', 'x', '>' are unknown, no unk: dropped
        #expect(t.encode("[m]", addSpecial: false, parseSpecial: false) == [5])
        #expect(t.decode([0, 3, 1]) == "a<x>b" && t.decode([0, 3, 1], skipSpecial: true) == "ab")
        #expect(t.decode([0, -5, 99, 1]) == "ab")
    }

    @Test("decoding never traps on arbitrary ids")
    func arbitraryIDs() throws {
        let smol = try Fixtures.smolLM2JSON.get()
        let spm = try Fixtures.spmGGUF.get()
        var rng = SplitMix(seed: 3)
        for _ in 0..<50 {
            let ids = (0..<20).map { _ in Int32(truncatingIfNeeded: Int(rng.next() % 60_000) - 5_000) }
            #expect(smol.decode(ids).utf8.count <= 20 * 64)
            #expect(spm.decode(ids).utf8.count <= 20 * 64)
        }
    }
}
