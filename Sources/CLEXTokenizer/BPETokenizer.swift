/// A BPE tokenizer assembled from the pipeline stages: added tokens are cut out of the input,
/// each text segment between them is normalised (`Normalizer`), split into pieces
/// (`PreTokenizer`) and byte-pair encoded (`BPEModel`); ids decode through `TokenDecoder`.
///
/// Covers GPT-2-style byte-level BPE (SmolLM2, GPT-2; GGUF `tokenizer.ggml.model = gpt2`) and
/// SentencePiece-style BPE with byte fallback (LLaMA-1/2; GGUF `llama`). Build one with
/// `init(tokenizerJSON:)`, `init(gguf:)`, or from stages. Thread-safe.
public final class BPETokenizer: Tokenizer {
    /// Vocabulary string of each id (nil for an id no token has).
    public let vocabulary: [String?]
    /// The added tokens, matched before the other stages.
    public let addedTokens: [AddedToken]
    /// First stage, or nil for none.
    public let normalizer: (any Normalizer)?
    /// Second stage, or nil for none (each segment is one piece).
    public let preTokenizer: (any PreTokenizer)?
    /// Third stage.
    public let model: BPEModel
    /// Decoding stage, or nil to join the vocabulary strings' bytes as they are.
    public let decoder: (any TokenDecoder)?
    /// Tokens put around the sequence when `addSpecial` is true.
    public let postProcessor: PostProcessor
    /// Beginning-of-sequence id, if known.
    public let bosID: Int32?
    /// End-of-sequence id, if known.
    public let eosID: Int32?
    /// The model's unknown-token id, if any.
    public let unknownID: Int32?
    /// Padding id, if known.
    public let paddingID: Int32?
    /// The Jinja chat template, if one came with the tokenizer.
    public let chatTemplate: String?

    private let tokenIDs: [String: Int32]
    private let tokenBytes: [[UInt8]]
    private let specialFlags: [Bool]
    private let splitter: AddedTokenSplitter

    /// A tokenizer from its stages.
    /// - Parameters:
    ///   - vocabulary: vocabulary string of each id (nil where no token has the id). Added tokens
    ///     out of its range extend it.
    ///   - addedTokens: tokens matched literally before the other stages.
    ///   - normalizer, preTokenizer, model, decoder: the stages.
    ///   - postProcessor: tokens put around the sequence when `addSpecial` is true.
    ///   - bosID, eosID, unknownID, paddingID: the model's special ids.
    ///   - chatTemplate: the Jinja chat template, if any.
    public init(vocabulary: [String?], addedTokens: [AddedToken], normalizer: (any Normalizer)?,
                preTokenizer: (any PreTokenizer)?, model: BPEModel, decoder: (any TokenDecoder)?,
                postProcessor: PostProcessor = PostProcessor(), bosID: Int32? = nil, eosID: Int32? = nil,
                unknownID: Int32? = nil, paddingID: Int32? = nil, chatTemplate: String? = nil) {
        var vocab = vocabulary
        let maxAdded = addedTokens.map { Int($0.id) }.max() ?? -1
        if maxAdded >= vocab.count { vocab += [String?](repeating: nil, count: maxAdded + 1 - vocab.count) }
        var special = [Bool](repeating: false, count: vocab.count)
        for token in addedTokens where token.id >= 0 {
            vocab[Int(token.id)] = token.content
            special[Int(token.id)] = token.special
        }
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(vocab.count)
        for (id, token) in vocab.enumerated() {
            if let token { ids[token] = Int32(id) }
        }
        self.vocabulary = vocab
        self.addedTokens = addedTokens
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.model = model
        self.decoder = decoder
        self.postProcessor = postProcessor
        self.bosID = bosID
        self.eosID = eosID
        self.unknownID = unknownID
        self.paddingID = paddingID
        self.chatTemplate = chatTemplate
        tokenIDs = ids
        tokenBytes = vocab.map { Array(($0 ?? "").utf8) }
        specialFlags = special
        splitter = AddedTokenSplitter(addedTokens.filter { $0.id >= 0 })
    }

    /// Number of ids (the largest id + 1), added tokens included.
    public var vocabularySize: Int { vocabulary.count }

    /// The vocabulary string of `id`, or nil when no token has it.
    public func token(forID id: Int32) -> String? {
        id >= 0 && Int(id) < vocabulary.count ? vocabulary[Int(id)] : nil
    }

    /// The id of a vocabulary string (model or added token), or nil when absent.
    public func id(forToken token: String) -> Int32? {
        tokenIDs[token]
    }

    /// Whether `id` is a special added token.
    public func isSpecial(_ id: Int32) -> Bool {
        id >= 0 && Int(id) < specialFlags.count && specialFlags[Int(id)]
    }

    /// Token ids of `text` (see `Tokenizer.encode(_:addSpecial:parseSpecial:)`).
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        let bytes = Array(text.utf8)
        var ids: [Int32] = []
        ids.reserveCapacity(bytes.count / 3 + 4)
        for segment in splitter.split(bytes, parseSpecial: parseSpecial) {
            switch segment {
            case .token(let id):
                ids.append(id)
            case .text(let range):
                encodeSegment(Array(bytes[range]), isFirst: range.lowerBound == 0, into: &ids)
            }
        }
        return addSpecial ? postProcessor.apply(ids) : ids
    }

    /// The pieces the normaliser and pre-tokenizer make of `text` (no added-token handling), as
    /// strings: for tests and debugging.
    public func preTokenize(_ text: String) -> [String] {
        pieces(Array(text.utf8), isFirst: true).strings
    }

    private func pieces(_ segment: [UInt8], isFirst: Bool) -> PreTokenizedText {
        let normalized = normalizer?.normalize(segment) ?? segment
        var text = PreTokenizedText(normalized)
        preTokenizer?.preTokenize(&text, isFirstSegment: isFirst)
        return text
    }

    private func encodeSegment(_ segment: [UInt8], isFirst: Bool, into ids: inout [Int32]) {
        let text = pieces(segment, isFirst: isFirst)
        text.bytes.withUnsafeBufferPointer { buffer in
            for piece in text.pieces { model.tokenize(buffer, piece, into: &ids) }
        }
    }

    /// The bytes `ids` decode to: their vocabulary strings through the decoder; ids no token
    /// has are skipped.
    public func decodeBytes(_ ids: [Int32], skipSpecial: Bool) -> [UInt8] {
        var pieces: [[UInt8]] = []
        pieces.reserveCapacity(ids.count)
        for id in ids where id >= 0 && Int(id) < tokenBytes.count && vocabulary[Int(id)] != nil {
            if skipSpecial && specialFlags[Int(id)] { continue }
            pieces.append(tokenBytes[Int(id)])
        }
        let decoded = decoder?.decode(pieces) ?? pieces
        return decoded.flatMap { $0 }
    }
}
