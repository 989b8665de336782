/// Streaming detokenization: feed ids one at a time as a model generates them and get back only
/// text that is complete.
///
/// A character can span several tokens (byte-level BPE spells `é` with two byte tokens,
/// SentencePiece falls back to `<0xNN>` tokens), and a decoder can depend on context (the
/// SentencePiece dummy-prefix space is stripped at the start of the text only). So each call
/// decodes a short window of recent ids and returns the new bytes up to the last complete UTF-8
/// character; an incomplete tail waits for the next id. The concatenation of everything returned
/// (including `finish()`) equals `tokenizer.decode(allIDs)`.
public struct IncrementalDecoder: Sendable {
    /// The tokenizer that decodes.
    public let tokenizer: any Tokenizer
    /// Special tokens are left out.
    public let skipSpecial: Bool
    /// Every id fed so far.
    public private(set) var ids: [Int32] = []
    /// Start of the window that is re-decoded (an index into `ids`).
    private var windowStart = 0
    /// Bytes of the window's decoding already returned.
    private var emitted = 0

    /// - Parameters:
    ///   - tokenizer: the tokenizer that decodes.
    ///   - skipSpecial: leave special tokens out.
    public init(tokenizer: any Tokenizer, skipSpecial: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecial = skipSpecial
    }

    /// Feeds one id; returns the text it completes (often one word piece, sometimes empty).
    public mutating func append(_ id: Int32) -> String {
        ids.append(id)
        let bytes = tokenizer.decodeBytes(Array(ids[windowStart...]), skipSpecial: skipSpecial)
        guard bytes.count >= emitted else {
            // The decoder revised text it had already produced; nothing more can be said safely.
            return ""
        }
        let complete = bytes.count - UTF8Step.incompleteSuffixLength(bytes)
        guard complete > emitted else { return "" }
        let text = String(decoding: bytes[emitted..<complete], as: UTF8.self)
        emitted = complete
        if complete == bytes.count {
            // Everything so far is out: keep only the last id the decoder sees (a skipped or
            // unknown id is no context) as the start of the window for the next call.
            let seen = ids[windowStart...].lastIndex { id in
                tokenizer.token(forID: id) != nil && !(skipSpecial && tokenizer.isSpecial(id))
            }
            if let k = seen, k > windowStart {
                windowStart = k
                emitted = tokenizer.decodeBytes(Array(ids[k...]), skipSpecial: skipSpecial).count
            }
        }
        return text
    }

    /// Feeds several ids; returns the text they complete.
    public mutating func append(contentsOf newIDs: [Int32]) -> String {
        newIDs.map { append($0) }.joined()
    }

    /// The text still held back (an incomplete character at the end, decoded with U+FFFD).
    public mutating func finish() -> String {
        guard windowStart < ids.count else { return "" }
        let bytes = tokenizer.decodeBytes(Array(ids[windowStart...]), skipSpecial: skipSpecial)
        guard bytes.count > emitted else { return "" }
        let text = String(decoding: bytes[emitted...], as: UTF8.self)
        emitted = bytes.count
        return text
    }
}
