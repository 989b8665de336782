import Foundation

/// Writes one line to standard output immediately (progress must show up even when stdout is
/// a file or a pipe, where `print` buffers).
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Writes one line to standard error.
func note(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Progress of a long step on standard error (count, rate, ETA), shown only once the step has
/// run for `delay` seconds, at most every `interval` seconds, and finished with a last line.
struct ProgressLine {
    let what: String
    let total: Int
    var delay = 2.0
    var interval = 1.0
    private let started = Date()
    private var lastShown: Date?

    init(what: String, total: Int) {
        self.what = what
        self.total = total
    }

    /// Reports that `done` of `total` are done.
    mutating func update(_ done: Int) {
        let now = Date()
        let elapsed = now.timeIntervalSince(started)
        guard elapsed >= delay, done < total || lastShown != nil else { return }
        if let lastShown, now.timeIntervalSince(lastShown) < interval, done < total { return }
        lastShown = now
        let rate = Double(done) / max(elapsed, 1e-9)
        let eta = rate > 0 ? Double(total - done) / rate : .infinity
        note(String(format: "[%@ %d/%d, %.1f/s, ETA %@]", what, done, total, rate, Self.duration(eta)))
    }

    /// "1m05s", "2h03m", or "?" for an unknown time.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds)
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
