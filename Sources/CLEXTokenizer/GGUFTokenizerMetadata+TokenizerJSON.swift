import Foundation

extension GGUFTokenizerMetadata {
    /// The token types, defaulted as `BPETokenizer(gguf:)` reads them: without
    /// `tokenizer.ggml.token_type`, BOS, EOS and UNK are control tokens, the rest normal.
    func resolvedTypes(bos: Int32?, eos: Int32?, unknown: Int32?) -> [GGUFTokenType] {
        tokenTypes.map { $0.map { GGUFTokenType(rawValue: $0) ?? .normal } }
            ?? (0..<tokens.count).map { id in [bos, eos, unknown].contains(Int32(id)) ? .control : .normal }
    }

    /// The merges a byte-level BPE applies: `tokenizer.ggml.merges` lines ("left right", split at
    /// the first space after the first character, as llama.cpp), without those that can never
    /// apply (a side or the result outside the vocabulary, or a control token), which llama.cpp
    /// tolerates and HF `tokenizers` refuses.
    func byteLevelMerges(vocabulary: [String: Int32], types: [GGUFTokenType]) throws -> [(String, String)] {
        guard let merges, !merges.isEmpty else {
            throw TokenizerError.missingField(
                "tokenizer without merges: GGUF tokenizer.ggml.model 'gpt2' (byte-level BPE) needs tokenizer.ggml.merges")
        }
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(merges.count)
        for (i, line) in merges.enumerated() {
            guard let space = line.dropFirst().firstIndex(of: " ") else {
                throw TokenizerError.malformed("GGUF: tokenizer.ggml.merges[\(i)] '\(line)' is not 'left right'")
            }
            let left = String(line[..<space]), right = String(line[line.index(after: space)...])
            guard let l = vocabulary[left], let r = vocabulary[right], vocabulary[left + right] != nil,
                  types[Int(l)] != .control, types[Int(r)] != .control else { continue }
            pairs.append((left, right))
        }
        return pairs
    }

    /// Whether the byte-level pre-tokenizer of `tokenizer.ggml.pre` splits digits one by one
    /// before GPT-2's split (the `smollm` family) or only splits as GPT-2 (the `gpt2` family).
    /// Throws for a name outside both families.
    var splitsDigitsFirst: Bool {
        get throws {
            let pre = self.pre ?? "(missing)"
            if BPETokenizer.gpt2PreTokenizers.contains(pre) { return false }
            if BPETokenizer.digitsGPT2PreTokenizers.contains(pre) { return true }
            let supported = BPETokenizer.gpt2PreTokenizers.union(BPETokenizer.digitsGPT2PreTokenizers).sorted().joined(separator: ", ")
            throw TokenizerError.unsupported(
                "GGUF: tokenizer.ggml.pre '\(pre)' is not supported for tokenizer.ggml.model 'gpt2' (supported: \(supported))")
        }
    }

    /// The vocabulary as HF `tokenizers` writes a byte-level BPE (`tokenizer.json`), so that a
    /// model exported from a GGUF loads with `AutoTokenizer` and the `tokenizers` library and
    /// tokenizes exactly as `BPETokenizer(gguf:)` does: the vocabulary and its applicable merges
    /// ("left right" strings, the form every `tokenizers` version reads), control and unknown
    /// tokens as special added tokens and user-defined ones as plain added tokens, the
    /// pre-tokenizer of `tokenizer.ggml.pre`, and BOS/EOS added as `add_bos_token`/`add_eos_token`
    /// say. Only byte-level vocabularies (`tokenizer.ggml.model` 'gpt2') are converted.
    /// - Throws: `TokenizerError` for a SentencePiece vocabulary, an unsupported pre-tokenizer or
    ///   malformed metadata.
    public func tokenizerJSON() throws -> Data {
        guard model == "gpt2" else {
            throw TokenizerError.unsupported(
                "GGUF: tokenizer.ggml.model '\(model)' is not converted to tokenizer.json (supported: gpt2, byte-level BPE); "
                + "use the model's own tokenizer files")
        }
        let n = tokens.count
        func valid(_ id: Int32?) -> Int32? { id.flatMap { $0 >= 0 && Int($0) < n ? $0 : nil } }
        let (bos, eos) = (valid(bosID), valid(eosID))
        let types = resolvedTypes(bos: bos, eos: eos, unknown: valid(unknownID))
        var vocabulary: [String: Int32] = [:]
        for (id, token) in tokens.enumerated() { vocabulary[token] = Int32(id) }
        let merges = try byteLevelMerges(vocabulary: vocabulary, types: types)
        let digitsFirst = try splitsDigitsFirst

        var added: [[String: Any]] = []
        for (id, type) in types.enumerated() where [.control, .unknown, .userDefined].contains(type) {
            added.append(["id": id, "content": tokens[id], "single_word": false, "lstrip": false, "rstrip": false,
                          "normalized": false, "special": type != .userDefined])
        }
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        let pre: [String: Any] = digitsFirst
            ? ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], byteLevel]]
            : byteLevel
        let prefix = (addBOS ?? false) ? bos : nil
        let suffix = (addEOS ?? false) ? eos : nil
        let post: Any
        if prefix == nil && suffix == nil {
            post = ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true] as [String: Any]
        } else {
            func special(_ id: Int32) -> [String: Any] { ["SpecialToken": ["id": tokens[Int(id)], "type_id": 0]] }
            let single = (prefix.map { [special($0)] } ?? []) + [["Sequence": ["id": "A", "type_id": 0]]] + (suffix.map { [special($0)] } ?? [])
            let pair = single + (prefix.map { [special($0)] } ?? []) + [["Sequence": ["id": "B", "type_id": 1]]] + (suffix.map { [special($0)] } ?? [])
            var specials: [String: Any] = [:]
            for id in [prefix, suffix].compactMap({ $0 }) {
                specials[tokens[Int(id)]] = ["id": tokens[Int(id)], "ids": [Int(id)], "tokens": [tokens[Int(id)]]]
            }
            post = ["type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": specials] as [String: Any]
        }
        let root: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added, "normalizer": NSNull(),
            "pre_tokenizer": pre, "post_processor": post,
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true] as [String: Any],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                      "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                      "vocab": vocabulary.mapValues(Int.init), "merges": merges.map { "\($0.0) \($0.1)" }] as [String: Any],
        ]
        return try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys])
    }

    /// `tokenizer_config.json` for `tokenizerJSON()`: the fast tokenizer class, the special
    /// tokens by text, whether BOS/EOS are added, and the chat template.
    public func tokenizerConfigJSON() throws -> Data {
        let n = tokens.count
        func text(_ id: Int32?) -> Any { id.flatMap { $0 >= 0 && Int($0) < n ? tokens[Int($0)] : nil } ?? NSNull() }
        var o: [String: Any] = ["tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": false,
                                "bos_token": text(bosID), "eos_token": text(eosID), "unk_token": text(unknownID),
                                "pad_token": text(paddingID), "add_bos_token": addBOS ?? false, "add_eos_token": addEOS ?? false]
        if let chatTemplate { o["chat_template"] = chatTemplate }
        return try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys])
    }
}
