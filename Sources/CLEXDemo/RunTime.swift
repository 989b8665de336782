import CLEXEval
import Foundation

/// Wall time spent on one output directory across the runs that resume it: the seconds earlier
/// runs recorded in `DIR/run-seconds` plus this run's. `record()` writes the total as work
/// progresses, so an interrupted run keeps all but its last moments.
public final class RunTime: @unchecked Sendable {
    /// Seconds recorded by earlier runs of the directory (0 for a fresh one).
    public let earlierSeconds: Double
    private let start = Date()
    private let path: String
    private let lock = NSLock()

    /// The clock of `directory` (which need not exist yet).
    public init(directory: String) {
        path = (directory as NSString).appendingPathComponent("run-seconds")
        let text = try? String(contentsOfFile: path, encoding: .utf8)
        earlierSeconds = text.flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }.map { max(0, $0) } ?? 0
    }

    /// Seconds since this run started.
    public var thisRun: Double { Date().timeIntervalSince(start) }

    /// Seconds over every run of the directory.
    public var total: Double { earlierSeconds + thisRun }

    /// Writes the total so far (atomically). Only once the directory exists: the runs create it
    /// with their first stage, and a time that cannot be written is not worth failing a run for.
    public func record() {
        lock.lock()
        defer { lock.unlock() }
        guard FileManager.default.fileExists(atPath: (path as NSString).deletingLastPathComponent) else { return }
        try? ReportFile.write(String(format: "%.1f\n", total), to: path)
    }

    /// "N s", or "N s over the runs that resumed this directory (this run M s)".
    public var description: String {
        earlierSeconds < 1 ? "\(Int(total)) s" : "\(Int(total)) s over the runs that resumed this directory (this run \(Int(thisRun)) s)"
    }
}
