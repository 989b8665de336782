import CLEXModel

extension PerplexityProtocol {
    /// Perplexity of `tokens` at context length `length` under this protocol.
    ///
    /// - Parameters:
    ///   - maxWindows: use at most this many windows (from the start of the stream).
    ///   - bos: the BOS id that `llamaCpp` puts first in every window (nil: keep the token).
    ///   - feedLimit: tokens per `feed` call under `split` prefill for every protocol but
    ///     `cached` and `reference` (which feed their C).
    ///   - prefill: the rotation each window is read with (`prefillRotation(_:)`: `reference`
    ///     always uses `single`); it is set on every session `makeSession` returns.
    ///   - makeSession: an empty session with room for the given number of tokens, one per window.
    ///   - onFeed: called after every fed piece with the tokens fed so far in this call.
    /// - Throws: `EvaluationError` when no window fits or no token is scored (or, for
    ///   `reference`, a chunk would hold one token); whatever the session throws (a positional
    ///   method that cannot serve the length).
    public func evaluate(tokens: [Int32], length n: Int, maxWindows: Int? = nil, bos: Int32? = nil,
                         feedLimit: Int = 1024, prefill: PrefillRotation = .split,
                         makeSession: (Int) throws -> InferenceSession,
                         onFeed: (Int) throws -> Void = { _ in }) throws -> PerplexityMeasurement {
        let plan = try windows(tokenCount: tokens.count, length: n, maxWindows: maxWindows)
        guard !plan.isEmpty else {
            throw EvaluationError("the text holds \(tokens.count) tokens, fewer than one window of \(n)")
        }
        var reference: ReferenceChunks?
        if case .reference(let c) = self { reference = try ReferenceChunks(length: n, chunk: c) }
        let rotation = prefillRotation(prefill)
        let feed = feedSize(length: n, feedLimit: feedLimit, prefill: rotation)
        var nll: [Double] = []
        var fed = 0
        for window in plan {
            let session = try makeSession(n)
            session.prefill = rotation
            let scored = try WindowScorer.score(window.tokens(from: tokens, bos: bos), firstTarget: window.firstTarget,
                                                feedSize: feed, session: session) { try onFeed(fed + $0) }
            nll += reference?.scored(from: scored) ?? scored
            fed += n
        }
        guard !nll.isEmpty else { throw EvaluationError("windows of \(n) score no token under \(label)") }
        let weights = reference.map { r in Array(repeating: r.weights, count: plan.count).flatMap { $0 } }
        return PerplexityMeasurement(protocol: self, length: n, windows: plan.count, nll: nll, weights: weights)
    }
}
