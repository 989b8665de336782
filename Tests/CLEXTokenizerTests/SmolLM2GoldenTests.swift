import CLEXTokenizer
import Foundation
import Testing

/// SmolLM2-135M-Instruct's real 49,152-token byte-level BPE against reference ids from HF
/// `tokenizers` (fixtures by `Fixtures/make_token_fixtures.py`), loaded both from tokenizer.json
/// and from GGUF-shaped arrays.
@Suite("SmolLM2 byte-level BPE golden ids") struct SmolLM2GoldenTests {
    static let loaders: [(String, Result<BPETokenizer, any Error>)] = [
        ("tokenizer.json", Fixtures.smolLM2JSON), ("GGUF arrays", Fixtures.smolLM2GGUF),
        ("GGUF arrays converted to tokenizer.json", Fixtures.smolLM2Converted),
    ]

    @Test("the fixture has at least 200 cases")
    func fixtureSize() throws {
        #expect(try Fixtures.cases("smollm2-token-ids.json").count >= 200)
    }

    @Test("encode matches the reference ids, special tokens parsed or not", arguments: [0, 1, 2])
    func encode(loader: Int) throws {
        let (name, result) = Self.loaders[loader]
        let tokenizer = try result.get()
        var mismatches = 0
        for c in try Fixtures.cases("smollm2-token-ids.json") {
            let text = c["text"] as? String ?? ""
            let parsed = tokenizer.encode(text, addSpecial: false, parseSpecial: true)
            let plain = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
            if parsed != ids(c["ids"]) || plain != ids(c["ids_no_special"]) { mismatches += 1 }
            #expect(parsed == ids(c["ids"]), "\(name): '\(show(text))'")
            #expect(plain == ids(c["ids_no_special"]), "\(name), no special parsing: '\(show(text))'")
        }
        #expect(mismatches == 0)
    }

    @Test("decode(encode(s)) == s for every case", arguments: [0, 1, 2])
    func roundTrip(loader: Int) throws {
        let (name, result) = Self.loaders[loader]
        let tokenizer = try result.get()
        for c in try Fixtures.cases("smollm2-token-ids.json") {
            let text = c["text"] as? String ?? ""
            let decoded = c["decoded"] as? String
            #expect(tokenizer.decode(ids(c["ids"])) == decoded, "\(name): '\(show(text))'")
            // decoded != text only where the vocabulary lacks a byte (dropped, as by the reference).
            #expect(tokenizer.decode(tokenizer.encode(text, addSpecial: false, parseSpecial: true)) == decoded)
            #expect(tokenizer.decode(tokenizer.encode(text, addSpecial: false, parseSpecial: false)) == decoded)
            if !text.unicodeScalars.contains(where: { [0x04, 0x06, 0x13, 0x14, 0x16, 0x1D].contains($0.value) }) {
                #expect(decoded == text, "\(name): '\(show(text))'")
            }
        }
    }

    @Test("special ids, flags and the (absent) BOS rule")
    func specials() throws {
        let json = try Fixtures.smolLM2JSON.get()
        let gguf = try Fixtures.smolLM2GGUF.get()
        #expect(json.vocabularySize == 49152 && gguf.vocabularySize == 49152)
        #expect(gguf.bosID == 1 && gguf.eosID == 2 && gguf.unknownID == 0 && gguf.paddingID == 2)
        #expect(json.eosID == 0)  // <|endoftext|>: tokenizer.json alone does not know the chat EOS
        for t in [json, gguf] {
            #expect(t.id(forToken: "<|im_start|>") == 1 && t.isSpecial(1) && t.isSpecial(16) && !t.isSpecial(17))
            #expect(t.encode("Hi", addSpecial: true) == t.encode("Hi", addSpecial: false))
            let chat = t.encode("<|im_start|>user\nHi<|im_end|>")
            #expect(chat.first == 1 && chat.last == 2)
            #expect(t.decode(chat, skipSpecial: true) == "user\nHi")
            #expect(t.token(forID: 31) == "/" && t.token(forID: -1) == nil && t.token(forID: 49152) == nil)
        }
    }

    @Test("the pre-tokenizer isolates digits, then applies the GPT-2 split")
    func preTokenizer() throws {
        let t = try Fixtures.smolLM2JSON.get()
        #expect(t.preTokenize("abc 123") == ["abc", " ", "1", "2", "3"])
        #expect(t.preTokenize("I'm  here\t\tnow ") == ["I", "'m", " ", " here", "\t", "\t", "now", " "])
    }

    @Test("the converted tokenizer.json holds HF's own vocabulary, merges and special tokens")
    func conversionMatchesHF() throws {
        let converted = try JSONSerialization.jsonObject(with: Fixtures.smolLM2GGUFMetadata().tokenizerJSON()) as! [String: Any]
        let hf = try Fixtures.json("smollm2-tokenizer.json")
        let (ours, theirs) = (converted["model"] as! [String: Any], hf["model"] as! [String: Any])
        #expect(ours["vocab"] as? [String: Int] == theirs["vocab"] as? [String: Int])
        #expect((ours["merges"] as? [String]) == (theirs["merges"] as? [[String]])?.map { $0.joined(separator: " ") })
        let specials = { (root: [String: Any]) in
            (root["added_tokens"] as? [[String: Any]] ?? []).map { "\($0["id"]!) \($0["content"]!) \($0["special"]!)" }
        }
        #expect(specials(converted) == specials(hf))
    }
}
