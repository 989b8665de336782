import CLEXTokenizer
import Foundation
import Testing

/// Unsupported or malformed configurations throw a `TokenizerError` whose message names the
/// field; nothing traps.
@Suite("tokenizer loading errors") struct LoadingErrorTests {
    /// A small byte-level tokenizer.json with the given model and pre-tokenizer sections.
    static func json(model: String, preTokenizer: String = #"{"type": "ByteLevel", "add_prefix_space": false}"#) -> Data {
        Data("""
        {"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": \(preTokenizer),
         "post_processor": null, "decoder": {"type": "ByteLevel"}, "model": \(model)}
        """.utf8)
    }

    static let byteLevelVocab = #"{"a": 0, "b": 1, "ab": 2, "Ġ": 3}"#

    func message(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as TokenizerError {
            return error.description
        } catch {
            return "not a TokenizerError: \(error)"
        }
    }

    @Test("a byte-level tokenizer.json without merges is refused")
    func missingMerges() {
        let noMerges = message { _ = try BPETokenizer(tokenizerJSON: Self.json(model: #"{"type": "BPE", "vocab": \#(Self.byteLevelVocab)}"#)) }
        #expect(noMerges?.hasPrefix("tokenizer without merges: ") == true, "\(noMerges ?? "no error")")
        let empty = message {
            _ = try BPETokenizer(tokenizerJSON: Self.json(model: #"{"type": "BPE", "vocab": \#(Self.byteLevelVocab), "merges": []}"#))
        }
        #expect(empty?.hasPrefix("tokenizer without merges: ") == true)
        let gguf = message { _ = try BPETokenizer(gguf: GGUFTokenizerMetadata(model: "gpt2", pre: "gpt2", tokens: ["a", "b"])) }
        #expect(gguf?.hasPrefix("tokenizer without merges: ") == true)
    }

    @Test("a byte-level tokenizer.json with merges loads and merges")
    func withMerges() throws {
        let t = try BPETokenizer(tokenizerJSON: Self.json(model: #"{"type": "BPE", "vocab": \#(Self.byteLevelVocab), "merges": ["a b"]}"#))
        #expect(t.encode("ab a") == [2, 3, 0])
        #expect(t.decode([2, 3, 0]) == "ab a")
    }

    @Test("unknown model types are refused with the supported list")
    func unknownModel() {
        let m = message { _ = try BPETokenizer(tokenizerJSON: Self.json(model: #"{"type": "WordPiece", "vocab": {"a": 0}}"#)) }
        #expect(m == "tokenizer.json: model type 'WordPiece' is not supported (supported: BPE)")
        let g = message { _ = try BPETokenizer(gguf: GGUFTokenizerMetadata(model: "bert", tokens: ["a"])) }
        #expect(g?.contains("tokenizer.ggml.model 'bert' is not supported") == true)
        let u = message { _ = try BPETokenizer(tokenizerJSON: Self.json(model: #"{"type": "Unigram", "vocab": [["a", 0.0]]}"#)) }
        #expect(u?.contains("model type 'Unigram' is not supported") == true)
    }

    @Test("unsupported pre-tokenizers, normalizers and GGUF pre names name the field")
    func unsupportedSections() {
        let model = #"{"type": "BPE", "vocab": \#(Self.byteLevelVocab), "merges": ["a b"]}"#
        let split = message {
            _ = try BPETokenizer(tokenizerJSON: Self.json(model: model, preTokenizer:
                #"{"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}"}, "behavior": "Isolated", "invert": false}"#))
        }
        #expect(split?.hasPrefix(#"tokenizer.json: pre_tokenizer type 'Split' with pattern '\p{N}{1,3}'"#) == true,
                "\(split ?? "no error")")
        #expect(split?.contains("is not supported") == true)
        let nested = message {
            _ = try BPETokenizer(tokenizerJSON: Self.json(model: model, preTokenizer:
                #"{"type": "Sequence", "pretokenizers": [{"type": "Whitespace"}]}"#))
        }
        #expect(nested?.hasPrefix("tokenizer.json: pre_tokenizer.pretokenizers[0] type 'Whitespace' is not supported") == true)
        let gpt2Split = message {
            _ = try BPETokenizer(tokenizerJSON: Self.json(model: model, preTokenizer: #"""
                {"type": "Sequence", "pretokenizers": [
                  {"type": "Split", "pattern": {"Regex": "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"},
                   "behavior": "Isolated", "invert": false},
                  {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]}
                """#))
        }
        #expect(gpt2Split == nil, "the GPT-2 pattern as an explicit Split is supported: \(gpt2Split ?? "")")
        let regexReplace = Data(#"""
            {"normalizer": {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
             "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}
            """#.utf8)
        let r = message { _ = try BPETokenizer(tokenizerJSON: regexReplace) }
        #expect(r?.hasPrefix("tokenizer.json: normalizer type 'Replace' with pattern Regex ' {2,}' is not supported") == true)
        let pre = message {
            _ = try BPETokenizer(gguf: GGUFTokenizerMetadata(model: "gpt2", pre: "deepseek-coder", tokens: ["a", "b", "ab"], merges: ["a b"]))
        }
        #expect(pre?.hasPrefix("GGUF: tokenizer.ggml.pre 'deepseek-coder' is not supported for tokenizer.ggml.model 'gpt2' (supported: ") == true)
        let single = Data(#"""
            {"added_tokens": [{"id": 0, "content": "a", "single_word": true}], "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}
            """#.utf8)
        #expect(message { _ = try BPETokenizer(tokenizerJSON: single) }?.contains("single_word: true") == true)
    }

    @Test("malformed input throws instead of trapping")
    func malformed() {
        let cases: [String] = [
            "", "not json", "[]", "{}", #"{"model": 3}"#,
            #"{"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}}"#,
            #"{"model": {"type": "BPE", "vocab": {"a": 99999999999}, "merges": []}}"#,
            #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}}"#,
            #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a"]}}"#,
            #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}"#,
            #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}"#,
            #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [[1, 2]]}}"#,
            #"{"model": {"type": "BPE", "vocab": "a"}}"#,
            #"{"added_tokens": [{"content": "x"}], "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#,
            #"{"decoder": {"type": "Strip", "content": "ab"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#,
            #"{"post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>"}}]}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#,
        ]
        for json in cases {
            let m = message { _ = try BPETokenizer(tokenizerJSON: Data(json.utf8)) }
            #expect(m != nil && m?.hasPrefix("not a TokenizerError") == false, "\(json): \(m ?? "loaded")")
        }
        var rng = SplitMix(seed: 7)
        for _ in 0..<50 {
            let bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            #expect(message { _ = try BPETokenizer(tokenizerJSON: Data(bytes)) } != nil)
        }
        let badTypes = message {
            _ = try BPETokenizer(gguf: GGUFTokenizerMetadata(model: "llama", tokens: ["a"], scores: [0], tokenTypes: [1, 1]))
        }
        #expect(badTypes?.contains("token_type has 2 entries for 1 tokens") == true)
        let noScores = message { _ = try BPETokenizer(gguf: GGUFTokenizerMetadata(model: "llama", tokens: ["a"])) }
        #expect(noScores?.contains("needs tokenizer.ggml.scores") == true)
        let badMetadata = message { _ = try GGUFTokenizerMetadata(metadata: ["tokenizer.ggml.model": "gpt2", "tokenizer.ggml.tokens": [1, 2]]) }
        #expect(badMetadata == "GGUF: tokenizer.ggml.tokens[0] has the wrong type")
        let noModel = message { _ = try GGUFTokenizerMetadata(metadata: [:]) }
        #expect(noModel == "GGUF: tokenizer.ggml.model is missing")
    }

    @Test("GGUF special ids outside the vocabulary are treated as absent")
    func outOfRangeSpecials() throws {
        let t = try BPETokenizer(gguf: GGUFTokenizerMetadata(
            model: "gpt2", pre: "gpt2", tokens: ["a", "b", "ab"], merges: ["a b", "x y"], bosID: 7, eosID: -1, addBOS: true))
        #expect(t.bosID == nil && t.eosID == nil)
        #expect(t.encode("abab") == [2, 2])
    }
}

/// Small deterministic generator for the tests.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
