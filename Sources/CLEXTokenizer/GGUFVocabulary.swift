/// GGUF `tokenizer.ggml.token_type` values (SentencePiece piece types).
public enum GGUFTokenType: Int32, Sendable {
    case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// The tokenizer part of a GGUF file's metadata, as plain arrays.
///
/// `model` is `tokenizer.ggml.model`: `gpt2` (byte-level BPE, needs `merges`) or `llama`
/// (SentencePiece BPE, needs `scores`). `pre` (`tokenizer.ggml.pre`) picks the byte-level split:
/// `gpt-2` (and `phi-2`, `mpt`, `olmo`, `jais`, which llama.cpp splits the same way), `smollm` (and
/// `starcoder`, `refact`, `command-r`, `codeshell`, `exaone`, `minerva`: digits one by one, then
/// the GPT-2 split), `llama-bpe` (LLaMA-3's split) or `qwen2` (Qwen2's).
public struct GGUFTokenizerMetadata: Sendable {
    /// `tokenizer.ggml.model`.
    public var model: String
    /// `tokenizer.ggml.pre`.
    public var pre: String?
    /// `tokenizer.ggml.tokens`.
    public var tokens: [String]
    /// `tokenizer.ggml.scores`.
    public var scores: [Float]?
    /// `tokenizer.ggml.token_type` (`GGUFTokenType` raw values).
    public var tokenTypes: [Int32]?
    /// `tokenizer.ggml.merges` (`"left right"`).
    public var merges: [String]?
    /// `tokenizer.ggml.bos_token_id`.
    public var bosID: Int32?
    /// `tokenizer.ggml.eos_token_id`.
    public var eosID: Int32?
    /// `tokenizer.ggml.unknown_token_id`.
    public var unknownID: Int32?
    /// `tokenizer.ggml.padding_token_id`.
    public var paddingID: Int32?
    /// `tokenizer.ggml.add_bos_token` (absent: true for `llama`, false for `gpt2`, as llama.cpp).
    public var addBOS: Bool?
    /// `tokenizer.ggml.add_eos_token` (absent: false).
    public var addEOS: Bool?
    /// `tokenizer.ggml.add_space_prefix` (`llama` only; absent: true).
    public var addSpacePrefix: Bool?
    /// `tokenizer.chat_template`.
    public var chatTemplate: String?

    /// Metadata from values already read.
    public init(model: String, pre: String? = nil, tokens: [String], scores: [Float]? = nil, tokenTypes: [Int32]? = nil,
                merges: [String]? = nil, bosID: Int32? = nil, eosID: Int32? = nil, unknownID: Int32? = nil,
                paddingID: Int32? = nil, addBOS: Bool? = nil, addEOS: Bool? = nil, addSpacePrefix: Bool? = nil,
                chatTemplate: String? = nil) {
        self.model = model
        self.pre = pre
        self.tokens = tokens
        self.scores = scores
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.bosID = bosID
        self.eosID = eosID
        self.unknownID = unknownID
        self.paddingID = paddingID
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
        self.chatTemplate = chatTemplate
    }

    /// Metadata from a dictionary keyed by GGUF key names (`tokenizer.ggml.tokens`, ...), values
    /// as Swift arrays, strings, numbers and booleans (any integer or floating-point type).
    /// Keys outside the tokenizer are ignored.
    /// - Throws: `TokenizerError` when a key the tokenizer needs is missing or has the wrong type.
    public init(metadata: [String: Any]) throws {
        func string(_ key: String) throws -> String? {
            guard let value = metadata[key] else { return nil }
            guard let s = value as? String else { throw TokenizerError.malformed("GGUF: \(key) is not a string") }
            return s
        }
        func array<T>(_ key: String, _ convert: (Any) -> T?) throws -> [T]? {
            guard let value = metadata[key] else { return nil }
            guard let items = value as? [Any] else { throw TokenizerError.malformed("GGUF: \(key) is not an array") }
            return try items.enumerated().map { i, item in
                guard let v = convert(item) else { throw TokenizerError.malformed("GGUF: \(key)[\(i)] has the wrong type") }
                return v
            }
        }
        func id(_ key: String) throws -> Int32? {
            guard let value = metadata[key] else { return nil }
            guard let v = JSONTree.int(value), let id = Int32(exactly: v) else {
                throw TokenizerError.malformed("GGUF: \(key) is not a 32-bit integer")
            }
            return id
        }
        func flag(_ key: String) throws -> Bool? {
            guard let value = metadata[key] else { return nil }
            guard let b = value as? Bool else { throw TokenizerError.malformed("GGUF: \(key) is not a boolean") }
            return b
        }
        guard let model = try string("tokenizer.ggml.model") else {
            throw TokenizerError.missingField("GGUF: tokenizer.ggml.model is missing")
        }
        guard let tokens = try array("tokenizer.ggml.tokens", { $0 as? String }) else {
            throw TokenizerError.missingField("GGUF: tokenizer.ggml.tokens is missing")
        }
        self.init(model: model, pre: try string("tokenizer.ggml.pre"), tokens: tokens,
                  scores: try array("tokenizer.ggml.scores", JSONTree.float),
                  tokenTypes: try array("tokenizer.ggml.token_type", { JSONTree.int($0).flatMap { Int32(exactly: $0) } }),
                  merges: try array("tokenizer.ggml.merges", { $0 as? String }),
                  bosID: try id("tokenizer.ggml.bos_token_id"), eosID: try id("tokenizer.ggml.eos_token_id"),
                  unknownID: try id("tokenizer.ggml.unknown_token_id"),
                  paddingID: try id("tokenizer.ggml.padding_token_id"),
                  addBOS: try flag("tokenizer.ggml.add_bos_token"), addEOS: try flag("tokenizer.ggml.add_eos_token"),
                  addSpacePrefix: try flag("tokenizer.ggml.add_space_prefix"),
                  chatTemplate: try string("tokenizer.chat_template"))
    }
}

extension BPETokenizer {
    /// `tokenizer.ggml.pre` values split with the GPT-2 regex alone (llama.cpp's names: `gpt-2`,
    /// `phi-2`, …; `gpt2` as this tool read it before).
    static let gpt2PreTokenizers: Set<String> = ["gpt-2", "gpt2", "phi-2", "mpt", "olmo", "jais"]
    /// `tokenizer.ggml.pre` values split with the LLaMA-3 regex (numbers in groups of up to 3).
    static let llama3PreTokenizers: Set<String> = ["llama3", "llama-v3", "llama-bpe"]
    /// `tokenizer.ggml.pre` values split with the Qwen2 regex (each number scalar alone).
    static let qwen2PreTokenizers: Set<String> = ["qwen2", "deepseek-r1-qwen"]
    /// `tokenizer.ggml.pre` values that isolate each digit, then apply the GPT-2 regex.
    static let digitsGPT2PreTokenizers: Set<String> = ["smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva"]

    /// A tokenizer from GGUF metadata, tokenizing as llama.cpp does: control and unknown tokens
    /// are special (parsed only with `parseSpecial`), user-defined tokens are always matched.
    /// Special ids outside the vocabulary are treated as absent.
    /// - Throws: `TokenizerError` for a missing, malformed or unsupported field.
    public convenience init(gguf m: GGUFTokenizerMetadata) throws {
        let n = m.tokens.count
        guard n > 0 else { throw TokenizerError.missingField("GGUF: tokenizer.ggml.tokens is empty") }
        if let types = m.tokenTypes, types.count != n {
            throw TokenizerError.malformed("GGUF: tokenizer.ggml.token_type has \(types.count) entries for \(n) tokens")
        }
        func valid(_ id: Int32?) -> Int32? { id.flatMap { $0 >= 0 && Int($0) < n ? $0 : nil } }
        let (bos, eos, unk, pad) = (valid(m.bosID), valid(m.eosID), valid(m.unknownID), valid(m.paddingID))
        let types = m.resolvedTypes(bos: bos, eos: eos, unknown: unk)

        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(n)
        for (id, token) in m.tokens.enumerated() { vocabulary[token] = Int32(id) }
        var added: [AddedToken] = []
        for (id, type) in types.enumerated() {
            switch type {
            case .control, .unknown: added.append(AddedToken(content: m.tokens[id], id: Int32(id), special: true))
            case .userDefined: added.append(AddedToken(content: m.tokens[id], id: Int32(id), special: false))
            default: break
            }
        }

        let model: BPEModel
        let normalizer: (any Normalizer)?
        let preTokenizer: (any PreTokenizer)?
        let decoder: any TokenDecoder
        let addBOS: Bool
        switch m.model {
        case "gpt2":
            preTokenizer = try m.byteLevelSplit.preTokenizer
            let pairs = try m.byteLevelMerges(vocabulary: vocabulary, types: types)
            // A byte without a token is dropped, as llama.cpp and HF tokenizers (no unk_token) do.
            model = try BPEModel(unit: .bytes, vocabulary: vocabulary, merges: pairs)
            normalizer = nil
            decoder = ByteLevelDecoder()
            addBOS = m.addBOS ?? false
        case "llama":
            guard let scores = m.scores else {
                throw TokenizerError.missingField("GGUF: tokenizer.ggml.model 'llama' needs tokenizer.ggml.scores")
            }
            guard scores.count == n else {
                throw TokenizerError.malformed("GGUF: tokenizer.ggml.scores has \(scores.count) entries for \(n) tokens")
            }
            model = BPEModel(unit: .characters, vocabulary: vocabulary, scores: scores,
                             mergeable: types.map { $0 == .normal }, byteFallback: true, unknownID: unk, fuseUnknown: true)
            normalizer = m.sentencePieceText.normalizer
            preTokenizer = nil
            decoder = m.sentencePieceText.decoder
            addBOS = m.addBOS ?? true
        default:
            throw TokenizerError.unsupported(
                "GGUF: tokenizer.ggml.model '\(m.model)' is not supported (supported: gpt2 (byte-level BPE), llama (SentencePiece BPE))")
        }
        let post = PostProcessor(prefix: addBOS ? bos.map { [$0] } ?? [] : [],
                                 suffix: m.addEOS ?? false ? eos.map { [$0] } ?? [] : [])
        self.init(vocabulary: m.tokens, addedTokens: added, normalizer: normalizer, preTokenizer: preTokenizer,
                  model: model, decoder: decoder, postProcessor: post, bosID: bos, eosID: eos, unknownID: unk,
                  paddingID: pad, chatTemplate: m.chatTemplate)
    }
}
