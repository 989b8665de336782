import CLEXModel
import CLEXTensor

/// Scores one window through an inference session, a piece at a time: each `feed` returns the
/// logits of at most `feedSize` tokens, whose scored rows go straight through
/// `Ops.crossEntropy(...).perRow` and are dropped, so memory holds one piece's [piece, V] logits
/// and the session's KV cache, never [n, V]. Feeding in pieces gives the logits of one whole
/// prefill: the session caches keys and splits at every change of the rotation.
public enum WindowScorer {
    /// Negative log-likelihood (nats) of `window[j]` for j = `firstTarget` ..< `window.count`,
    /// in order, reading `window` into `session` (which must be empty and hold `window.count`
    /// tokens). `onFeed` is called with the number of tokens after each piece.
    public static func score(_ window: [Int32], firstTarget: Int, feedSize: Int, session: InferenceSession,
                             onFeed: (Int) -> Void = { _ in }) throws -> [Double] {
        precondition(firstTarget >= 1 && feedSize >= 1, "WindowScorer: firstTarget \(firstTarget) and feedSize \(feedSize) must be ≥ 1")
        var nll: [Double] = []
        nll.reserveCapacity(max(window.count - firstTarget, 0))
        var start = 0
        while start < window.count {
            let end = min(start + feedSize, window.count)
            let logits = try session.feed(Array(window[start..<end]))
            // Row r (stream index) predicts window[r + 1]; keep the rows whose target is scored.
            let low = max(start, firstTarget - 1)
            let high = min(end, window.count - 1)
            if low < high {
                let rows = logits.slice(rows: (low - start)..<(high - start))
                let scored = Ops.crossEntropy(rows, targets: Array(window[(low + 1)...high]))
                let values = scored.perRow
                for i in 0..<values.count { nll.append(Double(values.pointer[i])) }
            }
            start = end
            onFeed(end)
        }
        return nll
    }
}
