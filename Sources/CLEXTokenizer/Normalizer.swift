import Foundation

/// First pipeline stage: rewrites the UTF-8 text of one segment (the text between two added
/// tokens) before it is split into words. tokenizer.json `normalizer`.
public protocol Normalizer: Sendable {
    /// The rewritten UTF-8 text.
    func normalize(_ text: [UInt8]) -> [UInt8]
}

/// Puts `prefix` in front of non-empty text (tokenizer.json `Prepend`; LLaMA's dummy prefix `▁`).
public struct PrependNormalizer: Normalizer {
    /// The UTF-8 bytes put in front.
    public let prefix: [UInt8]

    /// - Parameter prefix: the text put in front of every non-empty segment.
    public init(prefix: String) {
        self.prefix = Array(prefix.utf8)
    }

    /// `prefix + text`, or empty text unchanged.
    public func normalize(_ text: [UInt8]) -> [UInt8] {
        text.isEmpty ? text : prefix + text
    }
}

/// Replaces every occurrence of a literal string (tokenizer.json `Replace` with a `String`
/// pattern; LLaMA's space → `▁`). Occurrences are found left to right without overlap.
public struct ReplaceNormalizer: Normalizer {
    /// UTF-8 bytes searched for (non-empty).
    public let pattern: [UInt8]
    /// UTF-8 bytes put in their place.
    public let content: [UInt8]

    /// - Parameters:
    ///   - pattern: the literal text to replace; an empty pattern replaces nothing.
    ///   - content: its replacement.
    public init(pattern: String, content: String) {
        self.pattern = Array(pattern.utf8)
        self.content = Array(content.utf8)
    }

    /// `text` with each occurrence of `pattern` replaced by `content`.
    public func normalize(_ text: [UInt8]) -> [UInt8] {
        replaceOccurrences(in: text, of: pattern, with: content)
    }
}

/// Unicode normalisation (tokenizer.json `NFC`, `NFD`, `NFKC`, `NFKD`), through Foundation.
public struct UnicodeNormalizer: Normalizer {
    /// A Unicode normalisation form.
    public enum Form: String, Sendable {
        case nfc = "NFC", nfd = "NFD", nfkc = "NFKC", nfkd = "NFKD"
    }

    /// The form produced.
    public let form: Form

    /// - Parameter form: the normalisation form to produce.
    public init(form: Form) {
        self.form = form
    }

    /// `text` in normalisation form `form`.
    public func normalize(_ text: [UInt8]) -> [UInt8] {
        let s = String(decoding: text, as: UTF8.self)
        let out: String
        switch form {
        case .nfc: out = s.precomposedStringWithCanonicalMapping
        case .nfd: out = s.decomposedStringWithCanonicalMapping
        case .nfkc: out = s.precomposedStringWithCompatibilityMapping
        case .nfkd: out = s.decomposedStringWithCompatibilityMapping
        }
        return Array(out.utf8)
    }
}

/// Applies normalizers in order (tokenizer.json `Sequence`).
public struct NormalizerSequence: Normalizer {
    /// The normalizers, first applied first.
    public let normalizers: [any Normalizer]

    /// - Parameter normalizers: applied in order.
    public init(_ normalizers: [any Normalizer]) {
        self.normalizers = normalizers
    }

    /// `text` after every normalizer.
    public func normalize(_ text: [UInt8]) -> [UInt8] {
        normalizers.reduce(text) { $1.normalize($0) }
    }
}

/// `text` with each non-overlapping occurrence of `pattern` (searched left to right) replaced by
/// `content`; `text` itself when `pattern` is empty or absent.
func replaceOccurrences<C: RandomAccessCollection>(in text: C, of pattern: [UInt8], with content: [UInt8]) -> [UInt8]
where C.Element == UInt8, C.Index == Int {
    guard !pattern.isEmpty, text.count >= pattern.count else { return Array(text) }
    var out: [UInt8] = []
    out.reserveCapacity(text.count + 8)
    let first = pattern[0]
    var i = text.startIndex
    let last = text.endIndex - pattern.count
    while i < text.endIndex {
        if i <= last, text[i] == first, text[i..<(i + pattern.count)].elementsEqual(pattern) {
            out.append(contentsOf: content)
            i += pattern.count
        } else {
            out.append(text[i])
            i += 1
        }
    }
    return out
}
