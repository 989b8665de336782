/// One window of a perplexity protocol: `length` tokens of the stream from `start`, of which
/// the tokens at window-local indices `firstTarget` ..< `length` are scored (each predicted from
/// the logits of the token before it).
public struct ScoredWindow: Sendable, Equatable {
    /// Index of the window's first token in the stream.
    public var start: Int
    /// Tokens in the window.
    public var length: Int
    /// Window-local index of the first scored token (≥ 1).
    public var firstTarget: Int
    /// Whether the window's first token is replaced by BOS before it is fed (llama.cpp).
    public var replaceFirstWithBOS: Bool

    /// A window; `firstTarget` is clamped to 1 … `length`.
    public init(start: Int, length: Int, firstTarget: Int, replaceFirstWithBOS: Bool) {
        self.start = start
        self.length = length
        self.firstTarget = min(max(firstTarget, 1), length)
        self.replaceFirstWithBOS = replaceFirstWithBOS
    }

    /// Number of tokens the window scores.
    public var scoredCount: Int { length - firstTarget }

    /// The window's tokens taken from `stream`, with BOS first when asked and `bos` exists.
    public func tokens(from stream: [Int32], bos: Int32?) -> [Int32] {
        var window = Array(stream[start..<(start + length)])
        if replaceFirstWithBOS, let bos { window[0] = bos }
        return window
    }
}
