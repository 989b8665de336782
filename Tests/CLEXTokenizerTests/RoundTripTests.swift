import CLEXTokenizer
import Testing

/// UTF-8 round trips of random strings and streaming decoding.
@Suite("tokenizer round trips and streaming") struct RoundTripTests {
    /// Random text from a mix of scripts, emoji (with ZWJ and variation selectors), combining
    /// marks, whitespace, digits and the odd control character.
    static func randomString(_ rng: inout SplitMix, avoid: Set<Unicode.Scalar> = []) -> String {
        let ranges: [ClosedRange<UInt32>] = [
            0x20...0x7E, 0x20...0x7E, 0x09...0x0D, 0xA0...0x24F, 0x300...0x36F, 0x370...0x3FF, 0x400...0x4FF,
            0x590...0x5FF, 0x600...0x6FF, 0x900...0x97F, 0xE00...0xE7F, 0x2000...0x206F, 0x3040...0x30FF,
            0x4E00...0x9FFF, 0xAC00...0xD7A3, 0xFE00...0xFE0F, 0x1F300...0x1FAFF, 0x1D400...0x1D7FF, 0x200D...0x200D,
            0x10000...0x10FFF, 0xE000...0xE0FF, 0x0...0x1F,
        ]
        var s = String.UnicodeScalarView()
        for _ in 0..<Int(rng.next() % 40) {
            let r = ranges[Int(rng.next() % UInt64(ranges.count))]
            let v = r.lowerBound + UInt32(rng.next() % UInt64(r.upperBound - r.lowerBound + 1))
            if let scalar = Unicode.Scalar(v), !avoid.contains(scalar) { s.append(scalar) }
        }
        return String(s)
    }

    @Test("byte-level BPE: decode(encode(s)) == s for random strings")
    func byteLevelRandom() throws {
        let t = try Fixtures.smolLM2GGUF.get()
        // SmolLM2 has no token for these bytes (nor 0xC0, 0xC1, 0xF1, 0xF2, 0xF5...0xFF), so
        // text with them cannot round-trip; the golden cases check that they are dropped.
        let untokenizable: Set<Unicode.Scalar> = ["\u{04}", "\u{06}", "\u{13}", "\u{14}", "\u{16}", "\u{1D}"]
        var rng = SplitMix(seed: 11)
        for _ in 0..<300 {
            let s = Self.randomString(&rng, avoid: untokenizable)
            #expect(t.decode(t.encode(s, addSpecial: false, parseSpecial: false)) == s, "'\(show(s))'")
        }
    }

    @Test("SentencePiece BPE: decode(encode(s)) == s for random strings without ▁")
    func sentencePieceRandom() throws {
        let gguf = try Fixtures.spmGGUF.get()
        let json = try Fixtures.spmLegacyJSON.get()
        var rng = SplitMix(seed: 12)
        for _ in 0..<300 {
            let s = Self.randomString(&rng, avoid: ["▁"])
            #expect(gguf.decode(gguf.encode(s, addSpecial: true, parseSpecial: false), skipSpecial: true) == s, "'\(show(s))'")
            let ids = json.encode(s, addSpecial: false, parseSpecial: false)
            #expect(json.decode(ids) == s, "'\(show(s))'")
            #expect(gguf.encode(s, addSpecial: false, parseSpecial: false) == ids, "scores vs merges: '\(show(s))'")
        }
    }

    /// Feeds `ids` one at a time; checks the pieces are complete text that adds up to `decode`.
    func checkStreaming(_ t: any Tokenizer, _ ids: [Int32], skipSpecial: Bool = false) {
        var decoder = t.decodeIncrementally(skipSpecial: skipSpecial)
        let whole = t.decode(ids, skipSpecial: skipSpecial)
        var out = ""
        for id in ids {
            let piece = decoder.append(id)
            if !whole.unicodeScalars.contains("\u{FFFD}") {
                #expect(!piece.unicodeScalars.contains("\u{FFFD}"), "incomplete UTF-8 emitted for \(ids)")
            }
            out += piece
        }
        out += decoder.finish()
        #expect(out == whole, "\(ids)")
    }

    @Test("incremental decoding returns only complete text and adds up to decode")
    func streaming() throws {
        let smol = try Fixtures.smolLM2JSON.get()
        for c in try Fixtures.cases("smollm2-token-ids.json") {
            checkStreaming(smol, ids(c["ids"]))
            checkStreaming(smol, ids(c["ids"]), skipSpecial: true)
        }
        let spm = try Fixtures.spmGGUF.get()
        for c in try Fixtures.cases("llama-spm-token-ids.json") {
            let sp = ids(c["ids_sentencepiece"])
            checkStreaming(spm, sp)
            checkStreaming(spm, [1] + sp + [2] + sp, skipSpecial: true)
        }
        // A character split over byte tokens comes out only once complete.
        var d = smol.decodeIncrementally()
        let glyph = smol.encode("𓀀", addSpecial: false)
        #expect(glyph.count == 4)
        let firsts = glyph.dropLast().map { d.append($0) }
        #expect(firsts == ["", "", ""])
        #expect(d.append(glyph[3]) == "𓀀")
        // A dangling partial character is flushed with U+FFFD by finish().
        var partial = smol.decodeIncrementally()
        #expect(partial.append(glyph[0]) == "")
        #expect(partial.finish() == "\u{FFFD}")
    }
}
