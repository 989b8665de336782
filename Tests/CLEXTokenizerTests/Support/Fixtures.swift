import CLEXTokenizer
import Foundation

/// Access to the golden fixtures in `Fixtures/` (written by `Fixtures/make_token_fixtures.py`).
enum Fixtures {
    /// Raw bytes of a fixture file.
    static func data(_ name: String) throws -> Data {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw FixtureError.missing(name)
        }
        return try Data(contentsOf: url)
    }

    /// A fixture parsed as a JSON object.
    static func json(_ name: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: data(name)) as? [String: Any] else {
            throw FixtureError.malformed(name)
        }
        return object
    }

    /// The `cases` array of an ids fixture.
    static func cases(_ name: String) throws -> [[String: Any]] {
        guard let cases = try json(name)["cases"] as? [[String: Any]] else { throw FixtureError.malformed(name) }
        return cases
    }

    /// SmolLM2-135M-Instruct from its tokenizer.json.
    static let smolLM2JSON: Result<BPETokenizer, any Error> = Result {
        try BPETokenizer(tokenizerJSON: data("smollm2-tokenizer.json"))
    }

    /// SmolLM2-135M-Instruct from GGUF-shaped arrays rebuilt from the tokenizer.json (ids in
    /// order, merges as "a b" strings, the 17 special tokens as control tokens), with the GGUF's
    /// own special ids and pre-tokenizer name.
    static let smolLM2GGUF: Result<BPETokenizer, any Error> = Result { try BPETokenizer(gguf: smolLM2GGUFMetadata()) }

    /// The GGUF-shaped arrays of `smolLM2GGUF`.
    static func smolLM2GGUFMetadata() throws -> GGUFTokenizerMetadata {
        let root = try json("smollm2-tokenizer.json")
        let ids = try json("smollm2-token-ids.json")
        guard let model = root["model"] as? [String: Any], let vocab = model["vocab"] as? [String: Int],
              let merges = model["merges"] as? [[String]], let gguf = ids["gguf"] as? [String: Any],
              let control = gguf["token_type_control_ids"] as? [Int] else {
            throw FixtureError.malformed("smollm2-tokenizer.json")
        }
        var tokens = [String](repeating: "", count: vocab.count)
        for (token, id) in vocab { tokens[id] = token }
        var types = [Int32](repeating: GGUFTokenType.normal.rawValue, count: tokens.count)
        for id in control { types[id] = GGUFTokenType.control.rawValue }
        let metadata = GGUFTokenizerMetadata(
            model: gguf["tokenizer.ggml.model"] as? String ?? "", pre: gguf["tokenizer.ggml.pre"] as? String,
            tokens: tokens, tokenTypes: types, merges: merges.map { $0.joined(separator: " ") },
            bosID: (gguf["tokenizer.ggml.bos_token_id"] as? Int).map(Int32.init),
            eosID: (gguf["tokenizer.ggml.eos_token_id"] as? Int).map(Int32.init),
            unknownID: (gguf["tokenizer.ggml.unknown_token_id"] as? Int).map(Int32.init),
            paddingID: (gguf["tokenizer.ggml.padding_token_id"] as? Int).map(Int32.init),
            addBOS: gguf["tokenizer.ggml.add_bos_token"] as? Bool)
        return metadata
    }

    /// SmolLM2-135M-Instruct through `clex export`'s conversion: the GGUF-shaped arrays written
    /// as tokenizer.json and tokenizer_config.json, read back by the tokenizer.json loader.
    static let smolLM2Converted: Result<BPETokenizer, any Error> = Result {
        let metadata = try smolLM2GGUFMetadata()
        return try BPETokenizer(tokenizerJSON: metadata.tokenizerJSON(), config: metadata.tokenizerConfigJSON())
    }

    /// The LLaMA-style SentencePiece BPE from GGUF-shaped arrays.
    static let spmGGUF: Result<BPETokenizer, any Error> = Result {
        try BPETokenizer(gguf: GGUFTokenizerMetadata(metadata: json("llama-spm-vocab.json")))
    }

    /// The same model through `clex export`'s conversion of its GGUF-shaped arrays (tokenizer.json
    /// and tokenizer_config.json), read back by the tokenizer.json loader.
    static let spmConverted: Result<BPETokenizer, any Error> = Result {
        let metadata = try GGUFTokenizerMetadata(metadata: json("llama-spm-vocab.json"))
        return try BPETokenizer(tokenizerJSON: metadata.tokenizerJSON(), config: metadata.tokenizerConfigJSON())
    }

    /// The same model as an HF tokenizer.json, legacy layout (`Prepend` + `Replace`).
    static let spmLegacyJSON: Result<BPETokenizer, any Error> = Result {
        try BPETokenizer(tokenizerJSON: data("llama-spm-tokenizer.json"))
    }

    /// The same model as an HF tokenizer.json, `Metaspace` pre-tokenizer layout.
    static let spmMetaspaceJSON: Result<BPETokenizer, any Error> = Result {
        try BPETokenizer(tokenizerJSON: data("llama-spm-metaspace-tokenizer.json"))
    }
}

enum FixtureError: Error {
    case missing(String)
    case malformed(String)
}

/// Int32 ids from a JSON array.
func ids(_ value: Any?) -> [Int32] {
    (value as? [Int] ?? []).map { Int32($0) }
}

/// A string with control characters escaped, for failure messages.
func show(_ s: String) -> String {
    s.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 ? String($0) : "\\u{\(String($0.value, radix: 16))}" }.joined()
}
