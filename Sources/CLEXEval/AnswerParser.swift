/// Reads the answer of a retrieval task from a generation.
public enum AnswerParser {
    /// The first integer in `text`: the first run of ASCII digits, as a number; nil when there
    /// is none (the answer is then wrong) or when it has more digits than an `Int` holds.
    public static func firstInteger(in text: String) -> Int? {
        var digits = ""
        for character in text.unicodeScalars {
            if character >= "0" && character <= "9" {
                digits.unicodeScalars.append(character)
            } else if !digits.isEmpty {
                break
            }
        }
        return digits.isEmpty ? nil : Int(digits)
    }
}
