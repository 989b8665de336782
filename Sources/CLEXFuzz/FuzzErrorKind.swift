import CLEXFormats
import CLEXModel
import CLEXServer
import CLEXTokenizer

/// What kind of error a rejected input produced, at two grains: the error's type and case
/// (`CheckpointError.truncated`), and that plus its message with numbers and quoted text
/// blanked out (`CheckpointError.truncated: truncated: tensor '…' offset needs # bytes …`), which
/// tells apart the fields that rejected inputs.
public struct FuzzErrorKind: Sendable {
    /// Type and case (`CheckpointError.truncated`; `ConfigurationError` has no cases).
    public let coarse: String
    /// Type, case and normalised message (at most 200 characters).
    public let detailed: String
    /// Whether the error is one of the project's input errors (anything else is reported).
    public let isExpected: Bool

    /// The errors bad input may throw.
    public static func isExpected(_ error: any Error) -> Bool {
        error is CheckpointError || error is ConfigurationError || error is TokenizerError
            || error is ModelLoadError || error is PositionalError || error is APIError
    }

    /// The kind of `error`; a leading `fuzz…: ` (the name targets give their in-memory files) is
    /// dropped from the message.
    public init(_ error: any Error) {
        var coarse = "\(type(of: error))"
        if let label = Mirror(reflecting: error).children.first?.label, Mirror(reflecting: error).displayStyle == .enum {
            coarse += "." + label
        }
        self.coarse = coarse
        var message = "\(error)"
        if message.hasPrefix("fuzz"), let colon = message.range(of: ": ") { message.removeSubrange(..<colon.upperBound) }
        detailed = coarse + ": " + String(Self.normalized(message).prefix(200))
        isExpected = Self.isExpected(error)
    }

    /// `text` with digit runs as `#`, text in single or double quotes as `…` and control
    /// characters as `·`. A quote closes only before a space, punctuation or the end, so quoted
    /// text that itself holds quotes (a corrupt key such as `a'b'c`) still counts as one span.
    public static func normalized(_ text: String) -> String {
        let chars = Array(text)
        var out = ""
        var quote: Character?
        var lastWasDigit = false
        for (i, c) in chars.enumerated() {
            if let q = quote {
                let next = i + 1 < chars.count ? chars[i + 1] : " "
                if c == q && !(next.isLetter || next.isNumber || next == "'" || next == "\"" || next == "_") {
                    quote = nil
                    out.append(c)
                }
                continue
            }
            if c == "'" || c == "\"" {
                quote = c
                out.append(c)
                out.append("…")
                lastWasDigit = false
                continue
            }
            if c.isASCII && c.isNumber {
                if !lastWasDigit { out.append("#") }
                lastWasDigit = true
                continue
            }
            lastWasDigit = false
            out.append(c.unicodeScalars.allSatisfy { $0.properties.generalCategory != .control } ? c : "·")
        }
        return out
    }
}
