/// The text of the passkey retrieval task (Mohtashami & Jaggi 2023; the same text in PI, YaRN,
/// LongLoRA) and of its multi-needle key–value variant, exactly as ../shared/spec/evaluation.md
/// gives it: lines joined by "\n" — the instruction, filler, the needle, filler, the question.
///
/// Filler is counted in words of the filler sentence repeated without end and joined by single
/// spaces, so X whole repetitions are 19·X words and read "The grass is green. … There and back
/// again. The grass is green. …" exactly as the reference's `" ".join([garbage] * X)`; a word
/// count that is not a multiple of 19 ends the filler mid-sentence (as the references' character
/// cuts do), which lets a prompt hit a token budget to within a token or two.
public enum RetrievalPrompt {
    /// The first line.
    public static let instruction = "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you about the important information there."
    /// The sentence repeated as filler.
    public static let filler = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
    /// Words of one filler sentence.
    public static let fillerWords: [Substring] = filler.split(separator: " ")

    /// The needle line of the passkey task.
    public static func passkeyLine(_ key: Int) -> String {
        "The pass key is \(key). Remember it. \(key) is the pass key."
    }

    /// The last line of the passkey task.
    public static let passkeyQuestion = "What is the pass key? The pass key is"

    /// A needle of the key–value variant.
    public static func keyValueLine(key: String, value: Int) -> String {
        "The value of key \(key) is \(value)."
    }

    /// The last line of the key–value variant, asking for `key`.
    public static func keyValueQuestion(key: String) -> String {
        "What is the value of key \(key)? The value of key \(key) is"
    }

    /// Words used as keys of the key–value variant (distinct, one token or two in common BPE
    /// vocabularies).
    public static let keyWords = ["apple", "river", "candle", "garden", "violin", "harbor", "pepper", "silver",
                                  "lantern", "meadow", "falcon", "marble", "copper", "orchid", "thunder", "walnut",
                                  "canyon", "saddle", "pillow", "rocket", "tulip", "badger", "castle", "dolphin"]

    /// `words` words of filler: the filler sentence repeated, joined by spaces, cut after
    /// `words` words (empty for 0).
    public static func fillerText(words: Int) -> String {
        guard words > 0 else { return "" }
        let sentence = fillerWords.count
        var parts: [String] = []
        parts.reserveCapacity(words / sentence + 1)
        for _ in 0..<(words / sentence) { parts.append(filler) }
        let rest = words % sentence
        if rest > 0 { parts.append(fillerWords.prefix(rest).joined(separator: " ")) }
        return parts.joined(separator: " ")
    }

    /// The passkey prompt with X filler repetitions before the needle and Y after it.
    public static func passkey(key: Int, before x: Int, after y: Int) -> String {
        layout(fillerWords: fillerWords.count * (x + y), needles: [(fillerWords.count * x, passkeyLine(key))],
               question: passkeyQuestion)
    }

    /// The general layout: the instruction, then `fillerWords` words of filler with each needle
    /// line inserted after `offset` of them (offsets clamped to 0 … fillerWords, needles in
    /// offset order, ties in the given order), then `question`; lines joined by "\n". A needle
    /// at offset 0 follows an empty filler line, as the reference prints an empty prefix.
    public static func layout(fillerWords total: Int, needles: [(offset: Int, line: String)], question: String) -> String {
        let ordered = needles.enumerated()
            .map { (index: $0.offset, offset: min(max($0.element.offset, 0), total), line: $0.element.line) }
            .sorted { ($0.offset, $0.index) < ($1.offset, $1.index) }
        var lines = [instruction]
        var at = 0
        for needle in ordered {
            lines.append(fillerText(words: needle.offset - at))
            lines.append(needle.line)
            at = needle.offset
        }
        lines.append(fillerText(words: total - at))
        lines.append(question)
        return lines.joined(separator: "\n")
    }
}
