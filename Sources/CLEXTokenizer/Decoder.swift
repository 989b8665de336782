/// Last pipeline stage: turns the vocabulary strings of a list of tokens back into text bytes
/// (tokenizer.json `decoder`). Pieces are UTF-8 byte arrays, one per token at first; decoders may
/// rewrite, fuse or strip them. Bytes stay bytes until the very end, so a character split across
/// byte tokens survives.
public protocol TokenDecoder: Sendable {
    /// The rewritten pieces.
    func decode(_ pieces: [[UInt8]]) -> [[UInt8]]
}

/// GPT-2 byte-level decoding (tokenizer.json `ByteLevel`): each character of a piece is replaced
/// by the byte it spells (`ByteLevel`); a piece with a character outside the table (an added
/// token such as `<|im_start|>` spelled with printable ASCII only maps to itself) is kept as is.
public struct ByteLevelDecoder: TokenDecoder {
    /// A byte-level decoder.
    public init() {}

    /// Each piece's bytes through the GPT-2 table.
    public func decode(_ pieces: [[UInt8]]) -> [[UInt8]] {
        pieces.map { piece in
            ByteLevel.decode(String(decoding: piece, as: UTF8.self)) ?? piece
        }
    }
}

/// Replaces a literal string in every piece (tokenizer.json `Replace`; LLaMA: `▁` → space).
public struct ReplaceDecoder: TokenDecoder {
    /// UTF-8 bytes searched for.
    public let pattern: [UInt8]
    /// UTF-8 bytes put in their place.
    public let content: [UInt8]

    /// - Parameters:
    ///   - pattern: the literal text to replace.
    ///   - content: its replacement.
    public init(pattern: String, content: String) {
        self.pattern = Array(pattern.utf8)
        self.content = Array(content.utf8)
    }

    /// Every piece with `pattern` replaced by `content`.
    public func decode(_ pieces: [[UInt8]]) -> [[UInt8]] {
        pieces.map { replaceOccurrences(in: $0, of: pattern, with: content) }
    }
}

/// Byte-fallback tokens to bytes (tokenizer.json `ByteFallback`): a piece spelled exactly
/// `<0xNN>` (two upper- or lowercase hex digits) becomes the byte `0xNN`.
public struct ByteFallbackDecoder: TokenDecoder {
    /// A byte-fallback decoder.
    public init() {}

    /// Every `<0xNN>` piece replaced by its byte.
    public func decode(_ pieces: [[UInt8]]) -> [[UInt8]] {
        pieces.map { piece in
            if let byte = Self.byte(piece) { return [byte] }
            return piece
        }
    }

    /// The byte a `<0xNN>` piece stands for.
    static func byte(_ p: [UInt8]) -> UInt8? {
        guard p.count == 6, p[0] == 0x3C, p[1] == 0x30, p[2] == 0x78, p[5] == 0x3E,
              let hi = hexValue(p[3]), let lo = hexValue(p[4]) else { return nil }
        return hi << 4 | lo
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}

/// Concatenates all pieces into one (tokenizer.json `Fuse`).
public struct FuseDecoder: TokenDecoder {
    /// A fuse decoder.
    public init() {}

    /// One piece holding all the bytes.
    public func decode(_ pieces: [[UInt8]]) -> [[UInt8]] {
        [pieces.flatMap { $0 }]
    }
}

/// Removes up to `start` leading and `stop` trailing copies of a character from every piece
/// (tokenizer.json `Strip`; LLaMA: one leading space, after `Fuse`, undoes the dummy prefix).
public struct StripDecoder: TokenDecoder {
    /// UTF-8 bytes of the character removed.
    public let content: [UInt8]
    /// Most copies removed at the start of a piece.
    public let start: Int
    /// Most copies removed at the end of a piece.
    public let stop: Int

    /// - Parameters:
    ///   - content: the character removed.
    ///   - start: most copies removed at the start of each piece.
    ///   - stop: most copies removed at the end of each piece.
    public init(content: Character, start: Int, stop: Int) {
        self.content = Array(String(content).utf8)
        self.start = start
        self.stop = stop
    }

    /// Every piece with its leading and trailing copies removed.
    public func decode(_ pieces: [[UInt8]]) -> [[UInt8]] {
        guard !content.isEmpty else { return pieces }
        let w = content.count
        return pieces.map { piece in
            var lo = 0, hi = piece.count
            for _ in 0..<max(0, start) {
                guard hi - lo >= w, piece[lo..<(lo + w)].elementsEqual(content) else { break }
                lo += w
            }
            for _ in 0..<max(0, stop) {
                guard hi - lo >= w, piece[(hi - w)..<hi].elementsEqual(content) else { break }
                hi -= w
            }
            return Array(piece[lo..<hi])
        }
    }
}

/// SentencePiece whitespace (tokenizer.json `Metaspace` decoder): `replacement` → space, and the
/// first piece loses a leading space unless the prepend scheme is `never`.
public struct MetaspaceDecoder: TokenDecoder {
    /// UTF-8 bytes of the replacement character.
    public let replacement: [UInt8]
    /// The pre-tokenizer's prepend scheme.
    public let prependScheme: MetaspacePreTokenizer.PrependScheme

    /// - Parameters:
    ///   - replacement: the character that stands for a space (`▁`).
    ///   - prependScheme: the pre-tokenizer's prepend scheme.
    public init(replacement: Character = "▁", prependScheme: MetaspacePreTokenizer.PrependScheme = .always) {
        self.replacement = Array(String(replacement).utf8)
        self.prependScheme = prependScheme
    }

    /// Every piece with `replacement` turned into spaces, the first without its leading space.
    public func decode(_ pieces: [[UInt8]]) -> [[UInt8]] {
        pieces.enumerated().map { index, piece in
            var out = replaceOccurrences(in: piece, of: replacement, with: [0x20])
            if index == 0, prependScheme != .never, out.first == 0x20 { out.removeFirst() }
            return out
        }
    }
}

/// Applies decoders in order (tokenizer.json `Sequence`).
public struct DecoderSequence: TokenDecoder {
    /// The decoders, first applied first.
    public let decoders: [any TokenDecoder]

    /// - Parameter decoders: applied in order.
    public init(_ decoders: [any TokenDecoder]) {
        self.decoders = decoders
    }

    /// The pieces after every decoder.
    public func decode(_ pieces: [[UInt8]]) -> [[UInt8]] {
        decoders.reduce(pieces) { $1.decode($0) }
    }
}
