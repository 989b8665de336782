/// Token-level edits of JSON text. The text is split into tokens (strings, numbers, words,
/// punctuation, stray bytes) without requiring it to be valid, so edits keep working on inputs
/// that earlier edits broke.
extension FuzzMutator {
    /// One token of JSON-like text: its byte range and kind.
    public struct JSONToken: Sendable {
        /// What the token is: a string (quotes included), a number, a word (`true`, `null`,
        /// anything alphabetic), `{`/`[`, `}`/`]`, `,`, `:`, or any other byte.
        public enum Kind: Sendable { case string, number, word, open, close, comma, colon, other }
        /// Its bytes in the text.
        public let range: Range<Int>
        public let kind: Kind
        /// Whether it is a string, number or word.
        public var isValue: Bool { kind == .string || kind == .number || kind == .word }
    }

    /// The tokens of `bytes` (whitespace between them is skipped).
    public static func jsonTokens(_ bytes: [UInt8]) -> [JSONToken] {
        var tokens: [JSONToken] = []
        var i = 0
        let n = bytes.count
        while i < n {
            let c = bytes[i]
            let start = i
            let kind: JSONToken.Kind
            switch c {
            case 0x20, 0x0A, 0x0D, 0x09:
                i += 1
                continue
            case UInt8(ascii: "\""):
                i += 1
                while i < n && bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
                i = min(i + 1, n)
                kind = .string
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                i += 1
                while i < n, Self.numberBytes.contains(bytes[i]) { i += 1 }
                kind = .number
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
                while i < n, (bytes[i] | 0x20) >= UInt8(ascii: "a"), (bytes[i] | 0x20) <= UInt8(ascii: "z") { i += 1 }
                kind = .word
            case UInt8(ascii: "{"), UInt8(ascii: "["): i += 1; kind = .open
            case UInt8(ascii: "}"), UInt8(ascii: "]"): i += 1; kind = .close
            case UInt8(ascii: ","): i += 1; kind = .comma
            case UInt8(ascii: ":"): i += 1; kind = .colon
            default: i += 1; kind = .other
            }
            tokens.append(JSONToken(range: start..<i, kind: kind))
        }
        return tokens
    }

    static let numberBytes = Set("0123456789+-.eE".utf8)

    /// Numbers at the edges of every integer and floating-point type, and some that are not JSON.
    static let interestingNumbers = [
        "0", "-0", "1", "-1", "2", "3", "7", "8", "16", "32", "255", "256", "65536", "2147483647",
        "2147483648", "-2147483649", "4294967295", "4294967296", "9007199254740993", "9223372036854775807",
        "9223372036854775808", "-9223372036854775809", "18446744073709551616", "123456789012345678901234567890",
        "1e308", "1e309", "-1e309", "1e-400", "4.9e-324", "0.5", "1.5", "-0.0", "1E2", "1e+9", "0.1",
        "16777217", "1e15", "9.5e15", "NaN", "Infinity", "-Infinity", "1e999999999", "0x10", "01", "1.", ".5",
    ]

    /// Strings that are empty, long, escaped, special to tokenizers or not UTF-8.
    static let interestingStrings: [[UInt8]] = [
        "\"\"", "\"a\"", "\" \"", "\"a b\"", "\"a b c\"", "\"\\u0000\"", "\"\\ud800\"", "\"\\uDFFF\"",
        "\"\\ud83d\\ude00\"", "\"\\\"\"", "\"\\\\\"", "\"é\"", "\"\u{2581}\"", "\"\u{2581}\u{2581}\"", "\"<s>\"",
        "\"</s>\"", "\"<unk>\"", "\"<0x41>\"", "\"<0xZZ>\"", "\"Ġ\"", "\"\\n\"", "\"日本\"", "\"$A\"",
        "\"" + String(repeating: "x", count: 1000) + "\"",
    ].map { Array($0.utf8) } + [[0x22, 0xFF, 0xFE, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22]]

    /// Values of every JSON kind.
    static let interestingValues = [
        "null", "true", "false", "[]", "{}", "[1,2]", "[0]", "[-1]", "[\"a\"]", "{\"a\":1}", "\"\"", "0", "-1",
        "[[]]", "[null]", "1e309", "{\"type\":null}",
    ]

    /// One token-level edit of JSON text (a byte-level edit when there are no tokens).
    public mutating func mutateJSON(_ bytes: inout [UInt8]) {
        let tokens = Self.jsonTokens(bytes)
        guard !tokens.isEmpty else { return mutateBytes(&bytes, donor: []) }
        let token = pick(tokens)
        switch below(12) {
        case 0:
            bytes.removeSubrange(token.range)
        case 1:
            let copy = Array(bytes[token.range])
            bytes.insert(contentsOf: copy, at: token.range.upperBound)
        case 2:
            let other = pick(tokens)
            guard other.range != token.range else { return }
            let (first, second) = token.range.lowerBound < other.range.lowerBound ? (token, other) : (other, token)
            let a = Array(bytes[first.range]), b = Array(bytes[second.range])
            bytes.replaceSubrange(second.range, with: a)
            bytes.replaceSubrange(first.range, with: b)
        case 3:
            let numbers = tokens.filter { $0.kind == .number }
            let target = numbers.isEmpty ? token : pick(numbers)
            bytes.replaceSubrange(target.range, with: Array(pick(Self.interestingNumbers).utf8))
        case 4:
            let strings = tokens.filter { $0.kind == .string }
            let target = strings.isEmpty ? token : pick(strings)
            bytes.replaceSubrange(target.range, with: dictionaryString())
        case 5:
            let values = tokens.filter(\.isValue)
            let target = values.isEmpty ? token : pick(values)
            bytes.replaceSubrange(target.range, with: Array(pick(Self.interestingValues).utf8))
        case 6:
            // Delete a balanced fragment (an object or array), sometimes with the key before it.
            guard let fragment = balancedFragment(tokens) else { return }
            var lower = tokens[fragment.lowerBound].range.lowerBound
            if fragment.lowerBound >= 2, tokens[fragment.lowerBound - 1].kind == .colon, below(2) == 0 {
                lower = tokens[fragment.lowerBound - 2].range.lowerBound
            }
            bytes.removeSubrange(lower..<tokens[fragment.upperBound - 1].range.upperBound)
        case 7:
            // Duplicate a balanced fragment or a `"key": value` member after itself (a duplicate key).
            guard let fragment = balancedFragment(tokens) else { return }
            var lower = tokens[fragment.lowerBound].range.lowerBound
            if fragment.lowerBound >= 2, tokens[fragment.lowerBound - 1].kind == .colon {
                lower = tokens[fragment.lowerBound - 2].range.lowerBound
            }
            let upper = tokens[fragment.upperBound - 1].range.upperBound
            guard bytes.count + (upper - lower) + 1 <= maximumSize else { return }
            bytes.insert(contentsOf: [UInt8(ascii: ",")] + bytes[lower..<upper], at: upper)
        case 8:
            // Nest a value deeply: checks that nesting is bounded without exhausting the stack.
            let values = tokens.filter(\.isValue)
            let target = values.isEmpty ? token : pick(values)
            let depth = pick([32, 65, 200, 513, 1100, 5000, 60000])
            guard bytes.count + 2 * depth <= maximumSize else { return }
            let object = below(3) == 0
            let open = object ? Array(repeating: Array("{\"a\":".utf8), count: depth).flatMap { $0 }
                              : [UInt8](repeating: UInt8(ascii: "["), count: depth)
            let close = [UInt8](repeating: UInt8(ascii: object ? "}" : "]"), count: depth)
            bytes.replaceSubrange(target.range, with: open + bytes[target.range] + close)
        case 9:
            // Insert a member after an opening brace.
            let opens = tokens.filter { $0.kind == .open && bytes[$0.range.lowerBound] == UInt8(ascii: "{") }
            guard let brace = opens.isEmpty ? nil : pick(opens) else { return }
            let value = below(2) == 0 ? Array(pick(Self.interestingValues).utf8) : Array(pick(Self.interestingNumbers).utf8)
            bytes.insert(contentsOf: dictionaryString() + Array(":".utf8) + value + Array(",".utf8), at: brace.range.upperBound)
        case 10:
            // Replace a token with a dictionary word, or repeat an array element many times.
            if below(2) == 0 {
                bytes.replaceSubrange(token.range, with: dictionaryString())
            } else if token.isValue {
                let item = Array(bytes[token.range]) + [UInt8(ascii: ",")]
                let copies = pick([10, 100, 1000])
                guard bytes.count + copies * item.count <= maximumSize else { return }
                bytes.insert(contentsOf: Array(repeating: item, count: copies).flatMap { $0 }, at: token.range.lowerBound)
            }
        default:
            // Drop a structural token: an unbalanced bracket, a missing comma or colon.
            let structure = tokens.filter { !$0.isValue }
            guard let target = structure.isEmpty ? nil : pick(structure) else { return }
            bytes.removeSubrange(target.range)
        }
    }

    /// A quoted dictionary word or interesting string.
    mutating func dictionaryString() -> [UInt8] {
        if !dictionary.isEmpty && below(3) != 0 { return Array(("\"" + pick(dictionary) + "\"").utf8) }
        return pick(Self.interestingStrings)
    }

    /// Token indices of a balanced `{…}` or `[…]` starting at a random opening token.
    mutating func balancedFragment(_ tokens: [JSONToken]) -> Range<Int>? {
        let opens = tokens.indices.filter { tokens[$0].kind == .open }
        guard !opens.isEmpty else { return nil }
        let start = pick(opens)
        var depth = 0
        for i in start..<tokens.count {
            if tokens[i].kind == .open { depth += 1 }
            if tokens[i].kind == .close {
                depth -= 1
                if depth == 0 { return start..<(i + 1) }
            }
        }
        return nil
    }
}
