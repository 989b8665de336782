import Foundation

/// Where a long evaluation stands, for progress lines: what is running, how many tokens of the
/// whole run have been fed, the rate and the estimated time left (work is counted in fed tokens,
/// so the estimate is optimistic when long windows, slower per token, come last).
public struct EvaluationProgress: Sendable {
    /// The method being evaluated.
    public var method: String
    /// The context length being evaluated.
    public var length: Int
    /// The window or trial being evaluated (1-based).
    public var item: Int
    /// Windows or trials of this cell.
    public var items: Int
    /// "window" or "trial".
    public var itemName: String
    /// Tokens fed so far in the whole run.
    public var tokensDone: Int
    /// Tokens the whole run feeds.
    public var tokensTotal: Int
    /// Seconds since the run started.
    public var elapsed: Double

    /// Fed tokens per second so far.
    public var tokensPerSecond: Double { Double(tokensDone) / max(elapsed, 1e-9) }

    /// Seconds left at the current rate (nil before anything was fed).
    public var etaSeconds: Double? {
        tokensDone > 0 ? Double(max(tokensTotal - tokensDone, 0)) / tokensPerSecond : nil
    }

    /// One line: "[method] n=4096 window 2/5 · 12.3% · 850 tok/s · ETA 3m12s".
    public var line: String {
        let percent = 100 * Double(tokensDone) / Double(max(tokensTotal, 1))
        return String(format: "[%@] n=%d %@ %d/%d · %.1f%% of %d tokens · %.0f tok/s · ETA %@",
                      method, length, itemName, item, items, percent, tokensTotal, tokensPerSecond,
                      etaSeconds.map(Self.duration) ?? "?")
    }

    /// "1h02m", "3m12s" or "45s".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, s % 3600 / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}
