import CLEXTokenizer

/// Sizes a retrieval prompt to a token budget: finds the largest amount of filler (in words)
/// whose prompt tokenizes to at most `target` tokens, by bisection against the tokenizer (a
/// linear estimate from two probes brackets the answer first, so a 16k-token prompt takes about
/// a dozen tokenizations). The result lies within a word's tokens (one or two) of the target
/// unless even an empty filler is longer.
public struct PromptLengthSearch {
    /// The tokenizer the model reads with.
    public var tokenizer: any Tokenizer
    /// Whether prompts get the tokenizer's special tokens (BOS), as when they are fed.
    public var addSpecial: Bool

    /// A search with `tokenizer`.
    public init(tokenizer: any Tokenizer, addSpecial: Bool = true) {
        self.tokenizer = tokenizer
        self.addSpecial = addSpecial
    }

    /// The largest filler word count W with `build(W)` at most `target` tokens (0 when even
    /// `build(0)` is longer), and the tokens of `build(W)`. Assumes the token count grows with W.
    public func fit(target: Int, build: (Int) -> String) -> (words: Int, tokens: [Int32]) {
        var memo: [Int: [Int32]] = [:]
        func tokens(_ w: Int) -> [Int32] {
            if let t = memo[w] { return t }
            let t = tokenizer.encode(build(w), addSpecial: addSpecial)
            memo[w] = t
            return t
        }
        func fits(_ w: Int) -> Bool { tokens(w).count <= target }
        guard fits(0) else { return (0, tokens(0)) }
        let probe = 4 * RetrievalPrompt.fillerWords.count
        let rate = max(Double(tokens(probe).count - tokens(0).count) / Double(probe), 1e-3)
        let estimate = Double(target - tokens(0).count) / rate
        var low = 0
        var high = max(Int(estimate * 1.03) + 16, 1)
        let lowGuess = Int(estimate * 0.97) - 16
        if lowGuess > 0 && fits(lowGuess) { low = lowGuess }
        while fits(high) {
            low = high
            high *= 2
        }
        while high - low > 1 {
            let mid = low + (high - low) / 2
            if fits(mid) { low = mid } else { high = mid }
        }
        return (low, tokens(low))
    }
}
