import CLEXTokenizer
import Foundation
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

    @Test("tokenizer.json, legacy layout (merges as strings), matches tokenizers — as the HF file and as converted from the GGUF arrays",
          arguments: ["fixture", "converted"])
    func legacyJSON(source: String) throws {
        let t = try (source == "fixture" ? Fixtures.spmLegacyJSON : Fixtures.spmConverted).get()
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

    @Test("the GGUF arrays converted to tokenizer.json give transformers' layout: vocabulary, merges, normaliser, decoder, specials")
    func conversionMatchesHF() throws {
        let metadata = try GGUFTokenizerMetadata(metadata: Fixtures.json("llama-spm-vocab.json"))
        let converted = try JSONSerialization.jsonObject(with: metadata.tokenizerJSON()) as! [String: Any]
        let hf = try Fixtures.json("llama-spm-tokenizer.json")
        let (ours, theirs) = (converted["model"] as! [String: Any], hf["model"] as! [String: Any])
        #expect(ours["vocab"] as? [String: Int] == theirs["vocab"] as? [String: Int])
        for key in ["unk_token", "fuse_unk", "byte_fallback"] { #expect("\(ours[key]!)" == "\(theirs[key]!)", "\(key)") }
        // The same merges; equal-score pieces may list their splits in another order (the
        // fixture sorts those by string, transformers by id): the result of each is the same.
        let (a, b) = (ours["merges"] as! [String], theirs["merges"] as! [String])
        #expect(a.count == b.count && Set(a) == Set(b))
        let scores = metadata.scores!
        let score = { (merge: String) in scores[(ours["vocab"] as! [String: Int])[merge.replacingOccurrences(of: " ", with: "")]!] }
        #expect(zip(a, a.dropFirst()).allSatisfy { score($0) >= score($1) }, "merges ranked by piece score")
        let canonical = { (value: Any?) in
            String(data: try! JSONSerialization.data(withJSONObject: ["v": value ?? NSNull()], options: [.sortedKeys]), encoding: .utf8)!
        }
        for key in ["normalizer", "decoder", "pre_tokenizer"] {
            #expect(canonical(converted[key]) == canonical(hf[key]), "\(key)")
        }
        // The pair template differs on purpose: transformers' LlamaConverter gives $B type id 1,
        // the fixture's simplified template 0.
        let (post, hfPost) = (converted["post_processor"] as! [String: Any], hf["post_processor"] as! [String: Any])
        for key in ["type", "single", "special_tokens"] { #expect(canonical(post[key]) == canonical(hfPost[key]), "post_processor \(key)") }
        let specials = { (root: [String: Any]) in
            (root["added_tokens"] as? [[String: Any]] ?? []).map { "\($0["id"]!) \($0["content"]!) \($0["special"]!)" }
        }
        #expect(specials(converted) == specials(hf))
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
