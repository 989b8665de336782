/// UTF-8 text cut into pieces (words) that the model tokenizes one at a time.
public struct PreTokenizedText: Sendable, Equatable {
    /// The (possibly rewritten) UTF-8 text.
    public var bytes: [UInt8]
    /// Byte ranges into `bytes`, in order, not overlapping, each non-empty.
    public var pieces: [Range<Int>]

    /// Text as a single piece (no piece when it is empty).
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.pieces = bytes.isEmpty ? [] : [0..<bytes.count]
    }

    /// Text with given pieces.
    public init(bytes: [UInt8], pieces: [Range<Int>]) {
        self.bytes = bytes
        self.pieces = pieces
    }

    /// The pieces as strings (for tests and debugging).
    public var strings: [String] {
        pieces.map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    /// Splits every piece further with `split(buffer, range, &out)`, keeping the bytes.
    mutating func refine(_ split: (UnsafeBufferPointer<UInt8>, Range<Int>, inout [Range<Int>]) -> Void) {
        var out: [Range<Int>] = []
        out.reserveCapacity(pieces.count * 2)
        bytes.withUnsafeBufferPointer { buffer in
            for piece in pieces { split(buffer, piece, &out) }
        }
        pieces = out
    }
}

/// Second pipeline stage: cuts a segment's normalised text into pieces (tokenizer.json
/// `pre_tokenizer`). Merges never cross a piece boundary.
public protocol PreTokenizer: Sendable {
    /// Splits (and for some pre-tokenizers rewrites) `text`.
    /// - Parameter isFirstSegment: the segment starts the input (no added token before it);
    ///   `Metaspace` with `prepend_scheme: first` only prefixes such a segment.
    func preTokenize(_ text: inout PreTokenizedText, isFirstSegment: Bool)
}

/// GPT-2's byte-level pre-tokenizer (tokenizer.json `ByteLevel`): optionally a space in front of
/// each piece, then the GPT-2 split
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
/// Mapping bytes to the vocabulary's characters is the model's job (`BPEModel.Unit.bytes`).
public struct ByteLevelPreTokenizer: PreTokenizer {
    /// Put a space in front of every piece that does not start with one.
    public let addPrefixSpace: Bool
    /// Apply the GPT-2 split (false: pieces are left whole).
    public let useRegex: Bool

    /// - Parameters:
    ///   - addPrefixSpace: put a space in front of every piece that does not start with one.
    ///   - useRegex: apply the GPT-2 split.
    public init(addPrefixSpace: Bool = false, useRegex: Bool = true) {
        self.addPrefixSpace = addPrefixSpace
        self.useRegex = useRegex
    }

    /// Prefixes (if asked) and splits every piece of `text`.
    public func preTokenize(_ text: inout PreTokenizedText, isFirstSegment: Bool) {
        if addPrefixSpace, text.pieces.contains(where: { text.bytes[$0.lowerBound] != 0x20 }) {
            var bytes: [UInt8] = []
            var pieces: [Range<Int>] = []
            bytes.reserveCapacity(text.bytes.count + text.pieces.count)
            for piece in text.pieces {
                let start = bytes.count
                if text.bytes[piece.lowerBound] != 0x20 { bytes.append(0x20) }
                bytes.append(contentsOf: text.bytes[piece])
                pieces.append(start..<bytes.count)
            }
            text = PreTokenizedText(bytes: bytes, pieces: pieces)
        }
        if useRegex { text.refine(GPT2Split.split) }
    }
}

/// Isolates numbers (tokenizer.json `Digits`): every `\p{N}` scalar on its own
/// (`individualDigits`), or every run of them.
public struct DigitsPreTokenizer: PreTokenizer {
    /// One piece per digit rather than per run of digits.
    public let individualDigits: Bool

    /// - Parameter individualDigits: one piece per digit rather than per run.
    public init(individualDigits: Bool) {
        self.individualDigits = individualDigits
    }

    /// Splits every piece of `text` around its numbers.
    public func preTokenize(_ text: inout PreTokenizedText, isFirstSegment: Bool) {
        let individual = individualDigits
        text.refine { buffer, range, out in
            var runStart = range.lowerBound
            var i = range.lowerBound
            var inNumber = false
            while i < range.upperBound {
                let (value, length) = UTF8Step.decode(buffer, at: i, end: range.upperBound)
                let isNumber = UnicodeClass.of(value) == .number
                if isNumber != inNumber || (isNumber && individual) {
                    if i > runStart { out.append(runStart..<i) }
                    runStart = i
                    inNumber = isNumber
                }
                i += length
            }
            if i > runStart { out.append(runStart..<i) }
        }
    }
}

/// SentencePiece-style whitespace handling (tokenizer.json `Metaspace`): spaces become
/// `replacement` (`▁`), a `replacement` is put in front (per `prependScheme`) unless the piece
/// already starts with one, and with `split` the text is cut before every `replacement`.
public struct MetaspacePreTokenizer: PreTokenizer {
    /// When to put `replacement` in front.
    public enum PrependScheme: String, Sendable {
        /// In front of every segment.
        case always
        /// In front of the segment that starts the input only.
        case first
        /// Never.
        case never
    }

    /// UTF-8 bytes of the replacement character.
    public let replacement: [UInt8]
    /// When to put `replacement` in front.
    public let prependScheme: PrependScheme
    /// Cut the text before every `replacement` (each piece keeps its leading `replacement`).
    public let split: Bool

    /// - Parameters:
    ///   - replacement: the character spaces become (`▁`).
    ///   - prependScheme: when to put `replacement` in front.
    ///   - split: cut before every `replacement`.
    public init(replacement: Character = "▁", prependScheme: PrependScheme = .always, split: Bool = true) {
        self.replacement = Array(String(replacement).utf8)
        self.prependScheme = prependScheme
        self.split = split
    }

    /// Rewrites and splits every piece of `text`.
    public func preTokenize(_ text: inout PreTokenizedText, isFirstSegment: Bool) {
        var bytes: [UInt8] = []
        var pieces: [Range<Int>] = []
        bytes.reserveCapacity(text.bytes.count + 3 * 8)
        for (index, piece) in text.pieces.enumerated() {
            var rewritten = replaceOccurrences(in: text.bytes[piece], of: [0x20], with: replacement)
            let prepend: Bool
            switch prependScheme {
            case .always: prepend = true
            case .first: prepend = isFirstSegment && index == 0 && piece.lowerBound == 0
            case .never: prepend = false
            }
            if prepend, !rewritten.starts(with: replacement) { rewritten = replacement + rewritten }
            let start = bytes.count
            bytes.append(contentsOf: rewritten)
            if split {
                var cut = start
                var i = start
                while i + replacement.count <= bytes.count {
                    if i > cut, bytes[i..<(i + replacement.count)].elementsEqual(replacement) {
                        pieces.append(cut..<i)
                        cut = i
                    }
                    i += 1
                }
                if bytes.count > cut { pieces.append(cut..<bytes.count) }
            } else if bytes.count > start {
                pieces.append(start..<bytes.count)
            }
        }
        text = PreTokenizedText(bytes: bytes, pieces: pieces)
    }
}

/// Applies pre-tokenizers in order, each to the pieces of the one before
/// (tokenizer.json `Sequence`).
public struct PreTokenizerSequence: PreTokenizer {
    /// The pre-tokenizers, first applied first.
    public let preTokenizers: [any PreTokenizer]

    /// - Parameter preTokenizers: applied in order.
    public init(_ preTokenizers: [any PreTokenizer]) {
        self.preTokenizers = preTokenizers
    }

    /// `text` after every pre-tokenizer.
    public func preTokenize(_ text: inout PreTokenizedText, isFirstSegment: Bool) {
        for p in preTokenizers { p.preTokenize(&text, isFirstSegment: isFirstSegment) }
    }
}

/// The GPT-2 split, written out as a scanner with the regex's exact semantics:
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
/// Alternatives are tried in order at each position; the first that matches is taken greedily.
enum GPT2Split {
    /// The regex, as tokenizer.json and llama.cpp spell it (llama.cpp without the final `|\s+`,
    /// which its own scanner applies implicitly).
    static let patterns: Set<String> = [
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#,
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"#,
    ]

    /// Appends the matches of the GPT-2 regex within `range` (the range's end acts as the text's
    /// end) to `out`. Every byte of `range` ends up in exactly one match.
    static func split(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ out: inout [Range<Int>]) {
        let end = range.upperBound
        var i = range.lowerBound
        while i < end {
            let (c0, _) = UTF8Step.decode(b, at: i, end: end)
            // 's 't 're 've 'm 'll 'd (lowercase only, as in the GPT-2 pattern).
            if c0 == 0x27, let stop = contractionEnd(b, at: i, end: end, ignoringCase: false) {
                out.append(i..<stop)
                i = stop
                continue
            }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then a run of one class.
            var runStart = i
            var cls = UnicodeClass.of(c0)
            if c0 == 0x20, i + 1 < end {
                let (c1, _) = UTF8Step.decode(b, at: i + 1, end: end)
                let next = UnicodeClass.of(c1)
                if next != .whitespace {
                    runStart = i + 1
                    cls = next
                }
            }
            if cls != .whitespace {
                var j = runStart
                while j < end {
                    let (c, n) = UTF8Step.decode(b, at: j, end: end)
                    if UnicodeClass.of(c) != cls { break }
                    j += n
                }
                out.append(i..<j)
                i = j
                continue
            }
            let stop = whitespaceEnd(b, at: i, end: end)
            out.append(i..<stop)
            i = stop
        }
    }

    /// End of the contraction `'s|'t|'re|'ve|'m|'ll|'d` at `i` (where `b[i]` is `'`), or nil;
    /// `ignoringCase` also takes upper-case letters (LLaMA-3's `(?i:…)`).
    static func contractionEnd(_ b: UnsafeBufferPointer<UInt8>, at i: Int, end: Int, ignoringCase: Bool) -> Int? {
        guard i + 1 < end else { return nil }
        // ASCII letters differ from their upper case in bit 0x20 only.
        let fold: UInt8 = ignoringCase ? 0x20 : 0
        let b1 = b[i + 1] | fold
        if b1 == 0x73 || b1 == 0x74 || b1 == 0x6D || b1 == 0x64 { return i + 2 }  // s t m d
        guard i + 2 < end else { return nil }
        let b2 = b[i + 2] | fold
        if (b1 == 0x72 && b2 == 0x65) || (b1 == 0x76 && b2 == 0x65) || (b1 == 0x6C && b2 == 0x6C) { return i + 3 }  // re ve ll
        return nil
    }

    /// End of `\s+(?!\S)|\s+` at `i` (a whitespace scalar): the whitespace run, less its last
    /// scalar when a non-space follows and the run has more than one.
    static func whitespaceEnd(_ b: UnsafeBufferPointer<UInt8>, at i: Int, end: Int) -> Int {
        var j = i
        var lastStart = i
        while j < end {
            let (c, n) = UTF8Step.decode(b, at: j, end: end)
            if UnicodeClass.of(c) != .whitespace { break }
            lastStart = j
            j += n
        }
        return (j < end && lastStart > i) ? lastStart : j
    }
}
