import Foundation

/// Loading an HF `tokenizer.json` (and optionally its `tokenizer_config.json`).
///
/// Supported sections:
/// - `model`: `BPE` (merges as `"a b"` strings or `[a, b]` pairs; `byte_fallback`, `unk_token`,
///   `fuse_unk`, `ignore_merges`).
/// - `normalizer`: `Prepend`, `Replace` (string pattern), `NFC`/`NFD`/`NFKC`/`NFKD`, `Sequence`.
/// - `pre_tokenizer`: `ByteLevel`, `Digits`, `Metaspace`, `Split` with the GPT-2 pattern
///   (`Isolated`), `Sequence`. A `ByteLevel` anywhere makes the model byte-level.
/// - `decoder`: `ByteLevel`, `Replace`, `ByteFallback`, `Fuse`, `Strip`, `Metaspace`, `Sequence`.
/// - `post_processor`: `TemplateProcessing` (the `single` template), `RobertaProcessing`,
///   `BertProcessing`, `ByteLevel`, `Sequence`.
/// - `added_tokens`: `content`, `id`, `special`, `lstrip`, `rstrip` (`normalized` is matched
///   against the raw text; `single_word: true` is not supported).
/// Anything else throws `TokenizerError.unsupported` naming the field and what is supported.
extension BPETokenizer {
    /// A tokenizer from the contents of a `tokenizer.json`.
    /// - Parameters:
    ///   - data: the `tokenizer.json` bytes.
    ///   - config: the `tokenizer_config.json` bytes, if available: its `bos_token`,
    ///     `eos_token`, `unk_token`, `pad_token`, `chat_template`, `add_bos_token` and
    ///     `add_eos_token` take precedence. Without it BOS/EOS are taken from the
    ///     post-processor, else from well-known special tokens (`<s>`, `</s>`, `<|endoftext|>`, ...).
    /// - Throws: `TokenizerError` for malformed or unsupported content.
    public convenience init(tokenizerJSON data: Data, config: Data? = nil) throws {
        let root = try JSONTree.object(data, "tokenizer.json")
        let configRoot = try config.map { try JSONTree.object($0, "tokenizer_config.json") }
        try self.init(parsed: TokenizerJSONParser(root: root, config: configRoot))
    }

    /// A tokenizer from a `tokenizer.json` file; a `tokenizer_config.json` beside it is read too.
    /// - Throws: `TokenizerError` (or the file-reading error) when it cannot be loaded.
    public convenience init(tokenizerJSONAt url: URL) throws {
        let data = try Data(contentsOf: url)
        let configURL = url.deletingLastPathComponent().appendingPathComponent("tokenizer_config.json")
        let config = try? Data(contentsOf: configURL)
        try self.init(tokenizerJSON: data, config: config)
    }

    private convenience init(parsed p: TokenizerJSONParser) throws {
        let model = try p.modelSection()
        let added = try p.addedTokens()
        let preTokenizer = try p.preTokenizer(p.root["pre_tokenizer"], field: "pre_tokenizer")
        let byteLevel = p.containsByteLevel(p.root["pre_tokenizer"])
        let vocab = try p.vocabulary(model, added: added)
        let merges = try p.merges(model)
        if byteLevel && merges.isEmpty {
            throw TokenizerError.missingField(
                "tokenizer without merges: tokenizer.json has a byte-level BPE (ByteLevel pre_tokenizer) but 'model.merges' is missing or empty")
        }
        let unknownToken = model["unk_token"] as? String
        let unknownID = unknownToken.flatMap { vocab.ids[$0] }
        let bpe = try BPEModel(unit: byteLevel ? .bytes : .characters, vocabulary: vocab.ids, merges: merges,
                               byteFallback: model["byte_fallback"] as? Bool ?? false, unknownID: unknownID,
                               fuseUnknown: model["fuse_unk"] as? Bool ?? false,
                               ignoreMerges: model["ignore_merges"] as? Bool ?? false)
        var allIDs = vocab.ids
        for token in added { allIDs[token.content] = token.id }
        var post = try p.postProcessor(p.root["post_processor"], field: "post_processor", ids: allIDs)
        let specials = p.specialIDs(ids: allIDs, added: added, post: post)
        if let addBOS = p.config?["add_bos_token"] as? Bool {
            post.prefix = addBOS ? specials.bos.map { [$0] } ?? [] : []
        }
        if let addEOS = p.config?["add_eos_token"] as? Bool {
            post.suffix = addEOS ? specials.eos.map { [$0] } ?? [] : []
        }
        self.init(vocabulary: vocab.tokens, addedTokens: added,
                  normalizer: try p.normalizer(p.root["normalizer"], field: "normalizer"),
                  preTokenizer: preTokenizer, model: bpe,
                  decoder: try p.decoder(p.root["decoder"], field: "decoder"),
                  postProcessor: post, bosID: specials.bos, eosID: specials.eos, unknownID: unknownID,
                  paddingID: specials.pad, chatTemplate: p.config?["chat_template"] as? String)
    }
}

/// Typed access to `JSONSerialization` output.
enum JSONTree {
    /// The top-level object of `data`.
    static func object(_ data: Data, _ name: String) throws -> [String: Any] {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw TokenizerError.malformed("\(name): not valid JSON (\(error.localizedDescription))")
        }
        guard let object = value as? [String: Any] else {
            throw TokenizerError.malformed("\(name): the top level is not a JSON object")
        }
        return object
    }

    /// An integer value (JSON numbers arrive as Int, Double or NSNumber), or nil.
    static func int(_ value: Any?) -> Int? {
        switch value {
        case let v as Int: return v
        case let v as Int32: return Int(v)
        case let v as Int64: return Int(exactly: v)
        case let v as UInt32: return Int(v)
        case let v as UInt64: return Int(exactly: v)
        case let v as Double: return Int(exactly: v)
        case let v as Float: return Int(exactly: v)
        case let v as NSNumber: return Int(exactly: v.doubleValue)
        default: return nil
        }
    }

    /// A floating-point value, or nil.
    static func float(_ value: Any?) -> Float? {
        switch value {
        case let v as Float: return v
        case let v as Double: return Float(v)
        case let v as Int: return Float(v)
        case let v as NSNumber: return v.floatValue
        default: return nil
        }
    }
}

/// The section parsers; every error names the tokenizer.json field.
struct TokenizerJSONParser {
    let root: [String: Any]
    let config: [String: Any]?

    /// Largest id accepted (guards the vocabulary array against absurd ids).
    static let maxID = 16_777_216

    /// Ids may leave holes in the vocabulary, but the largest one must lie below this bound for
    /// `entries` tokens (model vocabulary plus added tokens): twice as many ids as tokens, plus
    /// 256. The id → token table has one slot per id, so without it a two-token file could ask
    /// for 16 M slots.
    static func idLimit(entries: Int) -> Int { min(maxID, 2 * entries + 256) }

    func modelSection() throws -> [String: Any] {
        guard let model = root["model"] as? [String: Any] else {
            throw TokenizerError.missingField("tokenizer.json: no 'model' object")
        }
        let type = model["type"] as? String ?? (model["merges"] != nil ? "BPE" : "(none)")
        guard type == "BPE" else {
            throw TokenizerError.unsupported("tokenizer.json: model type '\(type)' is not supported (supported: BPE)")
        }
        if let dropout = JSONTree.float(model["dropout"]), dropout > 0 {
            throw TokenizerError.unsupported("tokenizer.json: model.dropout \(dropout) is not supported (supported: null or 0)")
        }
        for field in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let affix = model[field] as? String, !affix.isEmpty {
                throw TokenizerError.unsupported("tokenizer.json: model.\(field) '\(affix)' is not supported (supported: null or empty)")
            }
        }
        return model
    }

    /// The model vocabulary, and the id → string table (for the model's ids; `added` are the
    /// added tokens, whose ids also count against `idLimit`).
    func vocabulary(_ model: [String: Any], added: [AddedToken]) throws -> (ids: [String: Int32], tokens: [String?]) {
        guard let raw = model["vocab"] as? [String: Any] else {
            throw TokenizerError.missingField("tokenizer.json: 'model.vocab' is missing or not an object")
        }
        let limit = Self.idLimit(entries: raw.count + added.count)
        func holes(_ id: Int) -> String {
            "id \(id) leaves too many holes: \(raw.count) tokens and \(added.count) added tokens may use ids below \(limit)"
        }
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(raw.count)
        var maxID = -1
        for (token, value) in raw {
            guard let id = JSONTree.int(value), id >= 0, id < Self.maxID else {
                throw TokenizerError.malformed("tokenizer.json: model.vocab['\(token)'] is not an id in 0..<\(Self.maxID)")
            }
            guard id < limit else { throw TokenizerError.malformed("tokenizer.json: model.vocab['\(token)']: \(holes(id))") }
            ids[token] = Int32(id)
            maxID = max(maxID, id)
        }
        if let (i, token) = added.enumerated().first(where: { Int($1.id) >= limit }) {
            throw TokenizerError.malformed("tokenizer.json: added_tokens[\(i)] '\(token.content)': \(holes(Int(token.id)))")
        }
        var tokens = [String?](repeating: nil, count: maxID + 1)
        for (token, id) in ids {
            if let existing = tokens[Int(id)] {
                throw TokenizerError.malformed("tokenizer.json: model.vocab gives id \(id) to both '\(existing)' and '\(token)'")
            }
            tokens[Int(id)] = token
        }
        return (ids, tokens)
    }

    /// `model.merges`, in either serialisation.
    func merges(_ model: [String: Any]) throws -> [(String, String)] {
        guard let raw = model["merges"] else { return [] }
        guard let list = raw as? [Any] else {
            throw TokenizerError.malformed("tokenizer.json: 'model.merges' is not an array")
        }
        var out: [(String, String)] = []
        out.reserveCapacity(list.count)
        for (i, entry) in list.enumerated() {
            if let line = entry as? String {
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw TokenizerError.malformed("tokenizer.json: model.merges[\(i)] '\(line)' is not two tokens separated by one space")
                }
                out.append((String(parts[0]), String(parts[1])))
            } else if let pair = entry as? [Any], pair.count == 2, let a = pair[0] as? String, let b = pair[1] as? String {
                out.append((a, b))
            } else {
                throw TokenizerError.malformed("tokenizer.json: model.merges[\(i)] is neither \"a b\" nor [a, b]")
            }
        }
        return out
    }

    func addedTokens() throws -> [AddedToken] {
        guard let raw = root["added_tokens"], !(raw is NSNull) else { return [] }
        guard let list = raw as? [Any] else {
            throw TokenizerError.malformed("tokenizer.json: 'added_tokens' is not an array")
        }
        return try list.enumerated().map { i, entry in
            guard let t = entry as? [String: Any], let content = t["content"] as? String,
                  let id = JSONTree.int(t["id"]), id >= 0, id < Self.maxID else {
                throw TokenizerError.malformed("tokenizer.json: added_tokens[\(i)] needs a string 'content' and an 'id' in 0..<\(Self.maxID)")
            }
            if t["single_word"] as? Bool == true {
                throw TokenizerError.unsupported(
                    "tokenizer.json: added_tokens[\(i)] '\(content)' has single_word: true, which is not supported (supported: false)")
            }
            return AddedToken(content: content, id: Int32(id), special: t["special"] as? Bool ?? false,
                              leftStrip: t["lstrip"] as? Bool ?? false, rightStrip: t["rstrip"] as? Bool ?? false)
        }
    }

    private func type(_ node: [String: Any], _ field: String) throws -> String {
        guard let type = node["type"] as? String else {
            throw TokenizerError.malformed("tokenizer.json: \(field) has no 'type'")
        }
        return type
    }

    private func list(_ node: [String: Any], _ key: String, _ field: String) throws -> [Any] {
        guard let items = node[key] as? [Any] else {
            throw TokenizerError.malformed("tokenizer.json: \(field) of type Sequence has no '\(key)' array")
        }
        return items
    }

    /// A `Replace` pattern: only `{"String": ...}` is supported.
    private func literalPattern(_ node: [String: Any], _ field: String) throws -> (String, String) {
        let pattern = node["pattern"] as? [String: Any]
        guard let literal = pattern?["String"] as? String else {
            let regex = pattern?["Regex"] as? String ?? "?"
            throw TokenizerError.unsupported(
                "tokenizer.json: \(field) type 'Replace' with pattern \(pattern?["Regex"] != nil ? "Regex '\(regex)'" : "'?'") is not supported (supported: a String pattern)")
        }
        return (literal, node["content"] as? String ?? "")
    }

    func normalizer(_ value: Any?, field: String) throws -> (any Normalizer)? {
        guard let value, !(value is NSNull) else { return nil }
        guard let node = value as? [String: Any] else {
            throw TokenizerError.malformed("tokenizer.json: \(field) is not an object")
        }
        let type = try type(node, field)
        switch type {
        case "Sequence":
            let items = try list(node, "normalizers", field)
            return NormalizerSequence(try items.enumerated().compactMap { i, item in
                try normalizer(item, field: "\(field).normalizers[\(i)]")
            })
        case "Prepend":
            return PrependNormalizer(prefix: node["prepend"] as? String ?? "")
        case "Replace":
            let (pattern, content) = try literalPattern(node, field)
            return ReplaceNormalizer(pattern: pattern, content: content)
        case "NFC", "NFD", "NFKC", "NFKD":
            return UnicodeNormalizer(form: UnicodeNormalizer.Form(rawValue: type)!)
        default:
            throw TokenizerError.unsupported(
                "tokenizer.json: \(field) type '\(type)' is not supported (supported: Prepend, Replace, NFC, NFD, NFKC, NFKD, Sequence)")
        }
    }

    func containsByteLevel(_ value: Any?) -> Bool {
        guard let node = value as? [String: Any] else { return false }
        if node["type"] as? String == "ByteLevel" { return true }
        return (node["pretokenizers"] as? [Any] ?? []).contains { containsByteLevel($0) }
    }

    private func prependScheme(_ node: [String: Any], _ field: String) throws -> MetaspacePreTokenizer.PrependScheme {
        if let raw = node["prepend_scheme"] as? String {
            guard let scheme = MetaspacePreTokenizer.PrependScheme(rawValue: raw) else {
                throw TokenizerError.unsupported(
                    "tokenizer.json: \(field).prepend_scheme '\(raw)' is not supported (supported: always, first, never)")
            }
            return scheme
        }
        // Older files: add_prefix_space (default true).
        return node["add_prefix_space"] as? Bool ?? true ? .always : .never
    }

    private func replacement(_ node: [String: Any], _ field: String) throws -> Character {
        let raw = node["replacement"] as? String ?? "▁"
        guard raw.count == 1, let c = raw.first else {
            throw TokenizerError.malformed("tokenizer.json: \(field).replacement '\(raw)' is not one character")
        }
        return c
    }

    func preTokenizer(_ value: Any?, field: String) throws -> (any PreTokenizer)? {
        guard let value, !(value is NSNull) else { return nil }
        guard let node = value as? [String: Any] else {
            throw TokenizerError.malformed("tokenizer.json: \(field) is not an object")
        }
        let type = try type(node, field)
        switch type {
        case "Sequence":
            let items = try list(node, "pretokenizers", field)
            return PreTokenizerSequence(try items.enumerated().compactMap { i, item in
                try preTokenizer(item, field: "\(field).pretokenizers[\(i)]")
            })
        case "ByteLevel":
            return ByteLevelPreTokenizer(addPrefixSpace: node["add_prefix_space"] as? Bool ?? true,
                                         useRegex: node["use_regex"] as? Bool ?? true)
        case "Digits":
            return DigitsPreTokenizer(individualDigits: node["individual_digits"] as? Bool ?? false)
        case "Metaspace":
            return MetaspacePreTokenizer(replacement: try replacement(node, field),
                                         prependScheme: try prependScheme(node, field),
                                         split: node["split"] as? Bool ?? true)
        case "Split":
            let pattern = node["pattern"] as? [String: Any]
            let regex = pattern?["Regex"] as? String ?? pattern?["String"] as? String ?? "?"
            let behavior = node["behavior"] as? String ?? "?"
            guard pattern?["Regex"] != nil, behavior == "Isolated", node["invert"] as? Bool ?? false == false,
                  GPT2Split.patterns.contains(regex) || Llama3SplitPreTokenizer.patterns[regex] != nil else {
                throw TokenizerError.unsupported(
                    "tokenizer.json: \(field) type 'Split' with pattern '\(regex)' and behavior '\(behavior)' is not supported "
                    + "(supported: the GPT-2, LLaMA-3 and Qwen2 patterns, Isolated, not inverted)")
            }
            if let digits = Llama3SplitPreTokenizer.patterns[regex] { return Llama3SplitPreTokenizer(maximumDigits: digits) }
            return ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: true)
        default:
            throw TokenizerError.unsupported(
                "tokenizer.json: \(field) type '\(type)' is not supported (supported: ByteLevel, Digits, Metaspace, "
                + "Split with the GPT-2, LLaMA-3 or Qwen2 pattern, Sequence)")
        }
    }

    func decoder(_ value: Any?, field: String) throws -> (any TokenDecoder)? {
        guard let value, !(value is NSNull) else { return nil }
        guard let node = value as? [String: Any] else {
            throw TokenizerError.malformed("tokenizer.json: \(field) is not an object")
        }
        let type = try type(node, field)
        switch type {
        case "Sequence":
            let items = try list(node, "decoders", field)
            return DecoderSequence(try items.enumerated().compactMap { i, item in
                try decoder(item, field: "\(field).decoders[\(i)]")
            })
        case "ByteLevel":
            return ByteLevelDecoder()
        case "Replace":
            let (pattern, content) = try literalPattern(node, field)
            return ReplaceDecoder(pattern: pattern, content: content)
        case "ByteFallback":
            return ByteFallbackDecoder()
        case "Fuse":
            return FuseDecoder()
        case "Strip":
            let content = node["content"] as? String ?? " "
            guard content.count == 1, let c = content.first else {
                throw TokenizerError.malformed("tokenizer.json: \(field).content '\(content)' is not one character")
            }
            return StripDecoder(content: c, start: JSONTree.int(node["start"]) ?? 0, stop: JSONTree.int(node["stop"]) ?? 0)
        case "Metaspace":
            return MetaspaceDecoder(replacement: try replacement(node, field), prependScheme: try prependScheme(node, field))
        default:
            throw TokenizerError.unsupported(
                "tokenizer.json: \(field) type '\(type)' is not supported (supported: ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence)")
        }
    }

    func postProcessor(_ value: Any?, field: String, ids: [String: Int32]) throws -> PostProcessor {
        guard let value, !(value is NSNull) else { return PostProcessor() }
        guard let node = value as? [String: Any] else {
            throw TokenizerError.malformed("tokenizer.json: \(field) is not an object")
        }
        let type = try type(node, field)
        switch type {
        case "ByteLevel":
            return PostProcessor()
        case "Sequence":
            let items = try list(node, "processors", field)
            var combined = PostProcessor()
            for (i, item) in items.enumerated() {
                let p = try postProcessor(item, field: "\(field).processors[\(i)]", ids: ids)
                combined.prefix += p.prefix
                combined.suffix = p.suffix + combined.suffix
            }
            return combined
        case "RobertaProcessing", "BertProcessing":
            func token(_ key: String) throws -> Int32 {
                guard let pair = node[key] as? [Any], pair.count == 2, let id = JSONTree.int(pair[1]) else {
                    throw TokenizerError.malformed("tokenizer.json: \(field).\(key) is not [token, id]")
                }
                return Int32(clamping: id)
            }
            return PostProcessor(prefix: [try token("cls")], suffix: [try token("sep")])
        case "TemplateProcessing":
            return try template(node, field: field)
        default:
            throw TokenizerError.unsupported(
                "tokenizer.json: \(field) type '\(type)' is not supported (supported: TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel, Sequence)")
        }
    }

    /// `TemplateProcessing.single`: special tokens, then `$A`, then special tokens.
    private func template(_ node: [String: Any], field: String) throws -> PostProcessor {
        guard let single = node["single"] as? [Any] else {
            throw TokenizerError.malformed("tokenizer.json: \(field).single is missing")
        }
        let specials = node["special_tokens"] as? [String: Any] ?? [:]
        var result = PostProcessor()
        var seenSequence = false
        for (i, item) in single.enumerated() {
            guard let piece = item as? [String: Any] else {
                throw TokenizerError.malformed("tokenizer.json: \(field).single[\(i)] is not an object")
            }
            if let sequence = piece["Sequence"] as? [String: Any] {
                guard !seenSequence, sequence["id"] as? String == "A" else {
                    throw TokenizerError.unsupported(
                        "tokenizer.json: \(field).single has a sequence other than one $A, which is not supported (supported: special tokens, $A, special tokens)")
                }
                seenSequence = true
            } else if let special = piece["SpecialToken"] as? [String: Any], let name = special["id"] as? String {
                guard let entry = specials[name] as? [String: Any], let rawIDs = entry["ids"] as? [Any] else {
                    throw TokenizerError.malformed("tokenizer.json: \(field).special_tokens has no ids for '\(name)'")
                }
                let ids = try rawIDs.map { raw -> Int32 in
                    guard let id = JSONTree.int(raw), id >= 0, id < Self.maxID else {
                        throw TokenizerError.malformed("tokenizer.json: \(field).special_tokens['\(name)'].ids has an invalid id")
                    }
                    return Int32(id)
                }
                if seenSequence { result.suffix += ids } else { result.prefix += ids }
            } else {
                throw TokenizerError.malformed("tokenizer.json: \(field).single[\(i)] is neither Sequence nor SpecialToken")
            }
        }
        return result
    }

    /// BOS/EOS/padding: tokenizer_config.json first, then the post-processor, then well-known names.
    func specialIDs(ids: [String: Int32], added: [AddedToken], post: PostProcessor)
        -> (bos: Int32?, eos: Int32?, pad: Int32?) {
        func configured(_ key: String) -> Int32? {
            let value = config?[key]
            let name = value as? String ?? (value as? [String: Any])?["content"] as? String
            return name.flatMap { ids[$0] }
        }
        let special = Set(added.filter(\.special).map(\.id))
        func wellKnown(_ names: [String]) -> Int32? {
            names.lazy.compactMap { ids[$0] }.first { special.contains($0) }
        }
        let bos = configured("bos_token") ?? (post.prefix.count == 1 ? post.prefix[0] : nil)
            ?? wellKnown(["<s>", "<|begin_of_text|>", "<|startoftext|>", "<bos>"])
        let eos = configured("eos_token") ?? (post.suffix.count == 1 ? post.suffix[0] : nil)
            ?? wellKnown(["</s>", "<|endoftext|>", "<|end_of_text|>", "<eos>"])
        let pad = configured("pad_token") ?? wellKnown(["<pad>", "<|pad|>"])
        return (bos, eos, pad)
    }
}
