import CLEXModel
import CLEXTensor

/// Scores one window through an inference session, a piece at a time: each `feed` hands over the
/// logits of at most `feedSize` tokens (fewer where the rotation changes), whose scored rows go
/// straight through `Ops.crossEntropy(...).perRow` and are dropped, so memory holds one piece's
/// [piece, V] logits and the session's KV cache, never [n, V]. Feeding in pieces gives the logits of one whole
/// prefill: the session caches keys and splits at every change of the rotation.
public enum WindowScorer {
    /// Negative log-likelihood (nats) of `window[j]` for j = `firstTarget` ..< `window.count`,
    /// in order, reading `window` into `session` (which must be empty and hold `window.count`
    /// tokens). `onFeed` is called with the number of tokens after each piece.
    public static func score(_ window: [Int32], firstTarget: Int, feedSize: Int, session: InferenceSession,
                             onFeed: (Int) throws -> Void = { _ in }) throws -> [Double] {
        precondition(firstTarget >= 1 && feedSize >= 1, "WindowScorer: firstTarget \(firstTarget) and feedSize \(feedSize) must be ≥ 1")
        var nll: [Double] = []
        nll.reserveCapacity(max(window.count - firstTarget, 0))
        var start = 0
        while start < window.count {
            let end = min(start + feedSize, window.count)
            try session.feed(Array(window[start..<end]), logits: .all) { first, logits in
                // Row r of this piece is stream index p = start + first + r and predicts window[p + 1];
                // keep the rows whose target is scored.
                let pieceStart = start + first, pieceEnd = pieceStart + logits.shape[0]
                let low = max(pieceStart, firstTarget - 1)
                let high = min(pieceEnd, window.count - 1)
                guard low < high else { return }
                let rows = logits.slice(rows: (low - pieceStart)..<(high - pieceStart))
                let values = Ops.crossEntropy(rows, targets: Array(window[(low + 1)...high])).perRow
                for i in 0..<values.count { nll.append(Double(values.pointer[i])) }
            }
            start = end
            try onFeed(end)
        }
        return nll
    }
}
