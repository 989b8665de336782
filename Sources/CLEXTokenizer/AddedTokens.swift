/// A token matched literally in the input before any other stage (tokenizer.json `added_tokens`;
/// GGUF control, user-defined and unknown tokens), such as `<|im_start|>`.
public struct AddedToken: Sendable, Equatable {
    /// The literal text.
    public var content: String
    /// Its id.
    public var id: Int32
    /// A special (control) token: only matched when special tokens are parsed, and left out by
    /// `decode(_:skipSpecial: true)`.
    public var special: Bool
    /// The match also takes the whitespace before it.
    public var leftStrip: Bool
    /// The match also takes the whitespace after it.
    public var rightStrip: Bool

    /// - Parameters:
    ///   - content: the literal text (an empty one never matches).
    ///   - id: its id.
    ///   - special: a control token, matched only when special tokens are parsed.
    ///   - leftStrip: the match also takes the whitespace before it.
    ///   - rightStrip: the match also takes the whitespace after it.
    public init(content: String, id: Int32, special: Bool, leftStrip: Bool = false, rightStrip: Bool = false) {
        self.content = content
        self.id = id
        self.special = special
        self.leftStrip = leftStrip
        self.rightStrip = rightStrip
    }
}

/// Cuts the input into text segments and added tokens: at each position the longest added token
/// that starts there wins (leftmost-longest, as HF tokenizers' matcher).
struct AddedTokenSplitter: Sendable {
    /// A stretch of input text, or a matched added token.
    enum Segment: Equatable {
        case text(Range<Int>)
        case token(Int32)
    }

    private struct Entry {
        var bytes: [UInt8]
        var token: AddedToken
    }

    /// Candidates by first byte, longest first.
    private let byFirstByte: [[Entry]]
    let isEmpty: Bool

    init(_ tokens: [AddedToken]) {
        var table = [[Entry]](repeating: [], count: 256)
        for token in tokens where !token.content.isEmpty {
            let bytes = Array(token.content.utf8)
            table[Int(bytes[0])].append(Entry(bytes: bytes, token: token))
        }
        byFirstByte = table.map { $0.sorted { $0.bytes.count > $1.bytes.count } }
        isEmpty = tokens.allSatisfy { $0.content.isEmpty }
    }

    /// The segments of `bytes`; special tokens are only matched when `parseSpecial`.
    func split(_ bytes: [UInt8], parseSpecial: Bool) -> [Segment] {
        guard !isEmpty else { return bytes.isEmpty ? [] : [.text(0..<bytes.count)] }
        var segments: [Segment] = []
        var textStart = 0
        var i = 0
        while i < bytes.count {
            guard let entry = match(bytes, at: i, parseSpecial: parseSpecial) else {
                i += 1
                continue
            }
            var start = i
            var end = i + entry.bytes.count
            if entry.token.leftStrip {
                while start > textStart, let w = Self.whitespaceLength(endingAt: start, in: bytes) { start -= w }
            }
            if entry.token.rightStrip {
                while end < bytes.count, let w = Self.whitespaceLength(startingAt: end, in: bytes) { end += w }
            }
            if start > textStart { segments.append(.text(textStart..<start)) }
            segments.append(.token(entry.token.id))
            textStart = end
            i = end
        }
        if bytes.count > textStart { segments.append(.text(textStart..<bytes.count)) }
        return segments
    }

    private func match(_ bytes: [UInt8], at i: Int, parseSpecial: Bool) -> Entry? {
        for entry in byFirstByte[Int(bytes[i])] where parseSpecial || !entry.token.special {
            let n = entry.bytes.count
            if i + n <= bytes.count, bytes[i..<(i + n)].elementsEqual(entry.bytes) { return entry }
        }
        return nil
    }

    /// Byte length of the whitespace scalar starting at `i`, if there is one.
    private static func whitespaceLength(startingAt i: Int, in bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBufferPointer { b in
            let (value, length) = UTF8Step.decode(b, at: i, end: b.count)
            return UnicodeClass.of(value) == .whitespace ? length : nil
        }
    }

    /// Byte length of the whitespace scalar ending just before `end`, if there is one.
    private static func whitespaceLength(endingAt end: Int, in bytes: [UInt8]) -> Int? {
        var start = end - 1
        while start > 0, end - start < 4, bytes[start] & 0xC0 == 0x80 { start -= 1 }
        guard let length = whitespaceLength(startingAt: start, in: bytes), start + length == end else { return nil }
        return length
    }
}
