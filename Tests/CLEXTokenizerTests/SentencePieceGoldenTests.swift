import CLEXTokenizer
import Testing

/// A LLaMA-style SentencePiece BPE (vocabulary 1,200, byte fallback, trained with `sentencepiece`
/// on two Shakespeare plays by `Fixtures/make_token_fixtures.py`) against `sentencepiece`'s own
/// ids (GGUF-shaped arrays: pieces, scores, types) and HF `tokenizers`' ids (tokenizer.json in
/// the legacy `Prepend`+`Replace` layout and the `Metaspace` layout).
@Suite("SentencePiece BPE golden ids") struct SentencePieceGoldenTests {
    @Test("the fixture has at least 50 cases")
    func fixtureSize() throws {
        #expect(try Fixtures.cases("llama-spm-token-ids.json").count >= 50)
    }

    @Test("GGUF arrays (scores) match sentencepiece")
    func gguf() throws {
        let t = try Fixtures.spmGGUF.get()
        #expect(t.bosID == 1 && t.eosID == 2 && t.unknownID == 0)
        for c in try Fixtures.cases("llama-spm-token-ids.json") {
            let text = c["text"] as? String ?? ""
            let expected = ids(c["ids_sentencepiece"])
            #expect(t.encode(text, addSpecial: false, parseSpecial: false) == expected, "'\(show(text))'")
            #expect(t.encode(text, addSpecial: true, parseSpecial: false) == [1] + expected, "BOS: '\(show(text))'")
            #expect(t.decode(expected) == c["decoded_sentencepiece"] as? String, "decode: '\(show(text))'")
        }
    }

    @Test("tokenizer.json, legacy layout (merges as strings), matches tokenizers")
    func legacyJSON() throws {
        let t = try Fixtures.spmLegacyJSON.get()
        #expect(t.bosID == 1 && t.eosID == 2 && t.unknownID == 0)
        for c in try Fixtures.cases("llama-spm-token-ids.json") {
            let text = c["text"] as? String ?? ""
            #expect(t.encode(text, addSpecial: false, parseSpecial: true) == ids(c["ids_hf_legacy"]), "'\(show(text))'")
            #expect(t.encode(text, addSpecial: true, parseSpecial: true) == ids(c["ids_hf_legacy_bos"]), "BOS: '\(show(text))'")
            #expect(t.encode(text, addSpecial: false, parseSpecial: false) == ids(c["ids_hf_legacy_no_special"]),
                    "no special parsing: '\(show(text))'")
            #expect(t.decode(ids(c["ids_hf_legacy"])) == c["decoded_hf_legacy"] as? String, "decode: '\(show(text))'")
        }
    }

    @Test("tokenizer.json, Metaspace layout (merges as pairs), matches tokenizers")
    func metaspaceJSON() throws {
        let t = try Fixtures.spmMetaspaceJSON.get()
        for c in try Fixtures.cases("llama-spm-token-ids.json") {
            let text = c["text"] as? String ?? ""
            #expect(t.encode(text, addSpecial: false, parseSpecial: true) == ids(c["ids_hf_metaspace"]), "'\(show(text))'")
        }
    }

    @Test("unknown characters fall back to <0xNN> byte tokens and decode back")
    func byteFallback() throws {
        let t = try Fixtures.spmGGUF.get()
        let ids = t.encode("🤖", addSpecial: false, parseSpecial: false)
        // ▁ then the four UTF-8 bytes F0 9F A4 96 as <0xNN> tokens.
        #expect(ids.dropFirst().map { t.token(forID: $0) } == ["<0xF0>", "<0x9F>", "<0xA4>", "<0x96>"])
        #expect(t.decode(ids) == "🤖")
        #expect(t.decode(Array(ids.prefix(3))) == "\u{FFFD}")
    }
}
