import CLEXTensor
import Foundation

/// One prompt of a retrieval task, sized to a token budget.
public struct RetrievalItem: Sendable {
    /// The prompt text.
    public var text: String
    /// Its tokens (with the tokenizer's special tokens).
    public var tokens: [Int32]
    /// The number the model must answer with.
    public var expected: Int
    /// Words of filler.
    public var fillerWords: Int
    /// Depth of the asked needle (fraction of the filler before it).
    public var depth: Double
}

/// The synthetic retrieval tasks of evaluation.md: the passkey task (one needle, a random key
/// 1 … 50000) or, with `needles` > 1, key–value retrieval ("The value of key <word> is
/// <number>." needles, the asked one at the swept depth and the others at random depths, then a
/// question about the asked one). Every draw comes from a `SeededGenerator` seeded by (seed,
/// length, depth, trial), so every method is asked the same prompts.
public struct RetrievalTask: Sendable {
    /// 1: passkey; 2 … `RetrievalPrompt.keyWords.count`: key–value retrieval.
    public var needles: Int
    /// Seed of the draws.
    public var seed: UInt64

    /// A task with `needles` needles.
    public init(needles: Int = 1, seed: UInt64 = 0) throws {
        guard needles >= 1 && needles <= RetrievalPrompt.keyWords.count else {
            throw EvaluationError("the number of needles must be 1 … \(RetrievalPrompt.keyWords.count), got \(needles)")
        }
        self.needles = needles
        self.seed = seed
    }

    /// "passkey retrieval" or "key-value retrieval (N needles)".
    public var name: String { needles == 1 ? "passkey retrieval" : "key-value retrieval (\(needles) needles)" }

    /// The prompt of trial `trial` at `depth` (0 … 1) sized to at most `length` tokens.
    public func item(length: Int, depth: Double, trial: Int, search: PromptLengthSearch) -> RetrievalItem {
        var generator = SeededGenerator(seed: seed ^ (UInt64(length) &* 0x9E37_79B9_7F4A_7C15)
                                        ^ (depth.bitPattern &* 0xC2B2_AE3D_27D4_EB4F) ^ (UInt64(trial) &* 0x1656_67B1_9E37_79F9))
        var lines: [(depth: Double, line: String)] = []
        let question: String
        let expected: Int
        if needles == 1 {
            expected = Int.random(in: 1...50000, using: &generator)
            lines = [(depth, RetrievalPrompt.passkeyLine(expected))]
            question = RetrievalPrompt.passkeyQuestion
        } else {
            let words = Array(RetrievalPrompt.keyWords.shuffled(using: &generator).prefix(needles))
            var values: [Int] = []
            while values.count < needles {
                let v = Int.random(in: 1...50000, using: &generator)
                if !values.contains(v) { values.append(v) }
            }
            for i in 0..<needles {
                let d = i == 0 ? depth : Double.random(in: 0...1, using: &generator)
                lines.append((d, RetrievalPrompt.keyValueLine(key: words[i], value: values[i])))
            }
            expected = values[0]
            question = RetrievalPrompt.keyValueQuestion(key: words[0])
        }
        func build(_ w: Int) -> String {
            RetrievalPrompt.layout(fillerWords: w, needles: lines.map { (Int(($0.depth * Double(w)).rounded()), $0.line) },
                                   question: question)
        }
        let (words, tokens) = search.fit(target: length, build: build)
        return RetrievalItem(text: build(words), tokens: tokens, expected: expected, fillerWords: words, depth: depth)
    }
}
