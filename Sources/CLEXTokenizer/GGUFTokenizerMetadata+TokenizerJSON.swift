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

    /// The split of a byte-level vocabulary's text before BPE, by `tokenizer.ggml.pre`.
    enum ByteLevelSplit: Equatable {
        /// GPT-2's regex alone.
        case gpt2
        /// Each digit isolated, then GPT-2's regex (SmolLM2).
        case digitsThenGPT2
        /// The LLaMA-3 (3 digits a piece) or Qwen2 (1) regex.
        case llama3(maximumDigits: Int)

        /// The pre-tokenizer that splits this way.
        var preTokenizer: any PreTokenizer {
            let gpt2 = ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: true)
            switch self {
            case .gpt2: return gpt2
            case .digitsThenGPT2: return PreTokenizerSequence([DigitsPreTokenizer(individualDigits: true), gpt2])
            case .llama3(let k): return Llama3SplitPreTokenizer(maximumDigits: k)
            }
        }

        /// The tokenizer.json `pre_tokenizer` that splits this way (as HF's own files spell it).
        var json: [String: Any] {
            let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
            switch self {
            case .gpt2: return byteLevel
            case .digitsThenGPT2:
                return ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], byteLevel]]
            case .llama3(let k):
                let pattern = Llama3SplitPreTokenizer(maximumDigits: k).pattern
                return ["type": "Sequence", "pretokenizers": [
                    ["type": "Split", "pattern": ["Regex": pattern], "behavior": "Isolated", "invert": false],
                    ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false],
                ]]
            }
        }
    }

    /// The text handling of a SentencePiece vocabulary (`tokenizer.ggml.model` 'llama'): spaces
    /// become `▁`, with one put in front when `add_space_prefix` (default true) says so, and the
    /// decoder undoes it, fusing byte tokens — as objects and as transformers' legacy LLaMA
    /// tokenizer.json writes them.
    struct SentencePieceText {
        let spacePrefix: Bool

        var normalizer: any Normalizer {
            let replace = ReplaceNormalizer(pattern: " ", content: "▁")
            return spacePrefix ? NormalizerSequence([PrependNormalizer(prefix: "▁"), replace]) : replace
        }

        var decoder: any TokenDecoder {
            var steps: [any TokenDecoder] = [ReplaceDecoder(pattern: "▁", content: " "), ByteFallbackDecoder(), FuseDecoder()]
            if spacePrefix { steps.append(StripDecoder(content: " ", start: 1, stop: 0)) }
            return DecoderSequence(steps)
        }

        var normalizerJSON: [String: Any] {
            let replace: [String: Any] = ["type": "Replace", "pattern": ["String": " "], "content": "▁"]
            return spacePrefix ? ["type": "Sequence", "normalizers": [["type": "Prepend", "prepend": "▁"], replace]] : replace
        }

        var decoderJSON: [String: Any] {
            var steps: [[String: Any]] = [["type": "Replace", "pattern": ["String": "▁"], "content": " "],
                                          ["type": "ByteFallback"], ["type": "Fuse"]]
            if spacePrefix { steps.append(["type": "Strip", "content": " ", "start": 1, "stop": 0]) }
            return ["type": "Sequence", "decoders": steps]
        }
    }

    /// The text handling of this vocabulary when it is a SentencePiece one.
    var sentencePieceText: SentencePieceText { SentencePieceText(spacePrefix: addSpacePrefix ?? true) }

    /// How `tokenizer.ggml.pre` splits a byte-level vocabulary's text, with llama.cpp's names for
    /// each split. Throws for a name this tool does not split.
    var byteLevelSplit: ByteLevelSplit {
        get throws {
            let pre = self.pre ?? "(missing)"
            if BPETokenizer.gpt2PreTokenizers.contains(pre) { return .gpt2 }
            if BPETokenizer.digitsGPT2PreTokenizers.contains(pre) { return .digitsThenGPT2 }
            if BPETokenizer.llama3PreTokenizers.contains(pre) { return .llama3(maximumDigits: 3) }
            if BPETokenizer.qwen2PreTokenizers.contains(pre) { return .llama3(maximumDigits: 1) }
            let supported = BPETokenizer.gpt2PreTokenizers.union(BPETokenizer.digitsGPT2PreTokenizers)
                .union(BPETokenizer.llama3PreTokenizers).union(BPETokenizer.qwen2PreTokenizers).sorted().joined(separator: ", ")
            throw TokenizerError.unsupported(
                "GGUF: tokenizer.ggml.pre '\(pre)' is not supported for tokenizer.ggml.model 'gpt2' (supported: \(supported))")
        }
    }

    /// The merges a SentencePiece BPE applies, as transformers' `LlamaConverter` lists them for a
    /// `tokenizer.json`: every split of a normal piece (of at most
    /// `BPEModel.maximumMergedPieceScalars` scalars) into two normal pieces, ordered by the
    /// piece's score, highest first, then by the piece's id and the two sides' ids. The first
    /// merge in that order is the one `BPETokenizer(gguf:)` ranks first; pieces of exactly equal
    /// score are ordered by id here, where the score-ranked model merges the leftmost pair first.
    func sentencePieceMerges(vocabulary: [String: Int32], types: [GGUFTokenType]) throws -> [(String, String)] {
        guard let scores, scores.count == tokens.count else {
            throw TokenizerError.missingField("GGUF: tokenizer.ggml.model 'llama' needs tokenizer.ggml.scores, one per token")
        }
        func normal(_ piece: Substring) -> Int32? {
            guard let id = vocabulary[String(piece)], types[Int(id)] == .normal else { return nil }
            return id
        }
        var ranked: [(score: Float, id: Int32, left: Int32, right: Int32, pair: (String, String))] = []
        for (id, piece) in tokens.enumerated() where types[id] == .normal {
            let count = piece.unicodeScalars.count
            guard count >= 2, count <= BPEModel.maximumMergedPieceScalars else { continue }
            let scalars = piece.unicodeScalars
            var cut = scalars.index(after: scalars.startIndex)
            while cut < scalars.endIndex {
                let left = Substring(scalars[..<cut]), right = Substring(scalars[cut...])
                if let l = normal(left), let r = normal(right) {
                    let score = scores[id].isNaN ? -Float.infinity : scores[id]
                    ranked.append((score, Int32(id), l, r, (String(left), String(right))))
                }
                cut = scalars.index(after: cut)
            }
        }
        ranked.sort { ($0.score, -$0.id, -$0.left, -$0.right) > ($1.score, -$1.id, -$1.left, -$1.right) }
        return ranked.map(\.pair)
    }

    /// The vocabulary as HF `tokenizers` writes it (`tokenizer.json`), so that a model exported
    /// from a GGUF loads with `AutoTokenizer` and the `tokenizers` library and tokenizes as
    /// `BPETokenizer(gguf:)` does:
    /// - byte-level BPE (`tokenizer.ggml.model` 'gpt2'): the vocabulary and its applicable merges
    ///   ("left right" strings, the form every `tokenizers` version reads), the pre-tokenizer of
    ///   `tokenizer.ggml.pre` (GPT-2's, digits then GPT-2's, LLaMA-3's or Qwen2's split);
    /// - SentencePiece BPE ('llama'): transformers' LLaMA layout (its legacy one, as LLaMA-2 and
    ///   TinyLlama ship it) — BPE with byte fallback and merges ranked by piece score, a
    ///   `Prepend("▁")` + `Replace(" ", "▁")` normaliser (no prepend without
    ///   `add_space_prefix`), and the matching decoder;
    /// control and unknown tokens as special added tokens, user-defined ones as plain added
    /// tokens, and BOS/EOS added as `add_bos_token`/`add_eos_token` say (defaults as llama.cpp).
    /// - Throws: `TokenizerError` for another model, an unsupported pre-tokenizer or malformed
    ///   metadata.
    public func tokenizerJSON() throws -> Data {
        let n = tokens.count
        func valid(_ id: Int32?) -> Int32? { id.flatMap { $0 >= 0 && Int($0) < n ? $0 : nil } }
        let (bos, eos, unknown) = (valid(bosID), valid(eosID), valid(unknownID))
        let types = resolvedTypes(bos: bos, eos: eos, unknown: unknown)
        var vocabulary: [String: Int32] = [:]
        for (id, token) in tokens.enumerated() { vocabulary[token] = Int32(id) }

        let normalizer: Any, pre: Any, decoder: Any, noTemplate: Any, defaultAddBOS: Bool
        var bpe: [String: Any] = ["type": "BPE", "dropout": NSNull(), "continuing_subword_prefix": NSNull(),
                                  "end_of_word_suffix": NSNull(), "ignore_merges": false, "vocab": vocabulary.mapValues(Int.init)]
        switch model {
        case "gpt2":
            bpe["merges"] = try byteLevelMerges(vocabulary: vocabulary, types: types).map { "\($0.0) \($0.1)" }
            bpe["unk_token"] = NSNull()
            bpe["fuse_unk"] = false
            bpe["byte_fallback"] = false
            normalizer = NSNull()
            pre = try byteLevelSplit.json
            decoder = ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true] as [String: Any]
            noTemplate = ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true] as [String: Any]
            defaultAddBOS = false
        case "llama":
            // "left right" strings unless a piece holds a space; then [left, right] pairs
            // (read by tokenizers 0.20 and later).
            let merges = try sentencePieceMerges(vocabulary: vocabulary, types: types)
            bpe["merges"] = merges.contains { $0.0.contains(" ") || $0.1.contains(" ") }
                ? merges.map { [$0.0, $0.1] } as Any : merges.map { "\($0.0) \($0.1)" } as Any
            bpe["unk_token"] = unknown.map { tokens[Int($0)] } ?? NSNull()
            bpe["fuse_unk"] = true
            bpe["byte_fallback"] = true
            normalizer = sentencePieceText.normalizerJSON
            pre = NSNull()
            decoder = sentencePieceText.decoderJSON
            noTemplate = NSNull()
            defaultAddBOS = true
        default:
            throw TokenizerError.unsupported(
                "GGUF: tokenizer.ggml.model '\(model)' is not converted to tokenizer.json (supported: gpt2, byte-level BPE; "
                + "llama, SentencePiece BPE); use the model's own tokenizer files")
        }

        var added: [[String: Any]] = []
        for (id, type) in types.enumerated() where [.control, .unknown, .userDefined].contains(type) {
            added.append(["id": id, "content": tokens[id], "single_word": false, "lstrip": false, "rstrip": false,
                          "normalized": false, "special": type != .userDefined])
        }
        let prefix = (addBOS ?? defaultAddBOS) ? bos : nil
        let suffix = (addEOS ?? false) ? eos : nil
        let post: Any
        if prefix == nil && suffix == nil {
            post = noTemplate
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
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added, "normalizer": normalizer,
            "pre_tokenizer": pre, "post_processor": post, "decoder": decoder, "model": bpe,
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
                                "pad_token": text(paddingID), "add_bos_token": addBOS ?? (model == "llama"),
                                "add_eos_token": addEOS ?? false]
        if let chatTemplate { o["chat_template"] = chatTemplate }
        return try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys])
    }
}
