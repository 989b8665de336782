/// The Unicode classes the pre-tokenizer patterns use, and UTF-8 stepping over byte buffers.
///
/// The pipeline works on UTF-8 bytes (`[UInt8]` built from a Swift `String`, so always valid):
/// these helpers decode one scalar at a byte offset and classify it the way Oniguruma does for
/// HF tokenizers' patterns: `\p{L}` = general category L*, `\p{N}` = N*, `\s` = White_Space.
enum UnicodeClass: UInt8 {
    /// `\p{L}`: Lu, Ll, Lt, Lm, Lo.
    case letter
    /// `\p{N}`: Nd, Nl, No.
    case number
    /// `\s`: the White_Space property.
    case whitespace
    /// Anything else (punctuation, symbols, marks, controls, unassigned).
    case other

    /// Classes of the 128 ASCII scalars.
    private static let ascii: [UnicodeClass] = (0..<128).map { classify(Unicode.Scalar(UInt8($0))) }

    /// Class of the scalar with value `value` (ASCII from a table).
    @inline(__always)
    static func of(_ value: UInt32) -> UnicodeClass {
        if value < 128 { return ascii[Int(value)] }
        return classify(Unicode.Scalar(value) ?? "\u{FFFD}")
    }

    private static func classify(_ scalar: Unicode.Scalar) -> UnicodeClass {
        let properties = scalar.properties
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return properties.isWhitespace ? .whitespace : .other
        }
    }
}

enum UTF8Step {
    /// Length of the UTF-8 sequence that starts with `lead` (1 for a stray continuation byte).
    @inline(__always)
    static func length(lead: UInt8) -> Int {
        if lead < 0x80 { return 1 }
        if lead >= 0xF0 { return 4 }
        if lead >= 0xE0 { return 3 }
        if lead >= 0xC0 { return 2 }
        return 1
    }

    /// The scalar value starting at `bytes[i]` and its byte length (bounds-checked against `end`).
    @inline(__always)
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int, end: Int) -> (value: UInt32, length: Int) {
        let lead = bytes[i]
        let n = min(length(lead: lead), end - i)
        switch n {
        case 2:
            return (UInt32(lead & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F), 2)
        case 3:
            return (UInt32(lead & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F), 3)
        case 4:
            return (UInt32(lead & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12
                    | UInt32(bytes[i + 2] & 0x3F) << 6 | UInt32(bytes[i + 3] & 0x3F), 4)
        default:
            return (UInt32(lead), 1)
        }
    }

    /// Number of bytes at the end of `bytes` that form an incomplete (but so far valid) UTF-8
    /// sequence, which more bytes could still complete; 0 when the buffer ends on a boundary.
    static func incompleteSuffixLength<C: BidirectionalCollection>(_ bytes: C) -> Int
    where C.Element == UInt8, C.Index == Int {
        var i = bytes.endIndex
        var continuation = 0
        while i > bytes.startIndex, continuation < 3, bytes[i - 1] & 0xC0 == 0x80 {
            i -= 1
            continuation += 1
        }
        guard i > bytes.startIndex else { return 0 }
        let lead = bytes[i - 1]
        guard lead >= 0xC0 else { return 0 }
        let need = length(lead: lead)
        return continuation + 1 < need ? continuation + 1 : 0
    }
}
