import CLEXModel

extension PerplexityProtocol {
    /// Perplexity of `tokens` at context length `length` under this protocol.
    ///
    /// - Parameters:
    ///   - maxWindows: use at most this many windows (from the start of the stream).
    ///   - bos: the BOS id that `llamaCpp` puts first in every window (nil: keep the token).
    ///   - feedLimit: tokens per `feed` call for every protocol but `cached` (which feeds its C).
    ///   - makeSession: an empty session with room for the given number of tokens, one per window.
    ///   - onFeed: called after every fed piece with the tokens fed so far in this call.
    /// - Throws: `EvaluationError` when no window fits or no token is scored; whatever the
    ///   session throws (a positional method that cannot serve the length).
    public func evaluate(tokens: [Int32], length n: Int, maxWindows: Int? = nil, bos: Int32? = nil,
                         feedLimit: Int = 1024, makeSession: (Int) throws -> InferenceSession,
                         onFeed: (Int) throws -> Void = { _ in }) throws -> PerplexityMeasurement {
        let plan = try windows(tokenCount: tokens.count, length: n, maxWindows: maxWindows)
        guard !plan.isEmpty else {
            throw EvaluationError("the text holds \(tokens.count) tokens, fewer than one window of \(n)")
        }
        let feed = feedSize(length: n, feedLimit: feedLimit)
        var nll: [Double] = []
        var fed = 0
        for window in plan {
            let session = try makeSession(n)
            nll += try WindowScorer.score(window.tokens(from: tokens, bos: bos), firstTarget: window.firstTarget,
                                          feedSize: feed, session: session) { try onFeed(fed + $0) }
            fed += n
        }
        guard !nll.isEmpty else { throw EvaluationError("windows of \(n) score no token under \(label)") }
        return PerplexityMeasurement(protocol: self, length: n, windows: plan.count, nll: nll)
    }
}
