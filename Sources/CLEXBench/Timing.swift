import Foundation

/// Wall-clock timing of a benchmark body: one warm-up call, then repeats until `minSeconds` have
/// passed (at least `minRuns`), reporting the median — robust to a stray slow run.
public struct Timing: Sendable {
    /// Median seconds per call.
    public let median: Double
    /// Fastest call.
    public let best: Double
    /// Number of timed calls.
    public let runs: Int

    /// Times `body`.
    public static func measure(minSeconds: Double = 0.5, minRuns: Int = 3, maxRuns: Int = 200,
                               _ body: () -> Void) -> Timing {
        body()
        var samples: [Double] = []
        let start = now()
        while samples.count < minRuns || (now() - start < minSeconds && samples.count < maxRuns) {
            let t0 = now()
            body()
            samples.append(now() - t0)
        }
        samples.sort()
        return Timing(median: samples[samples.count / 2], best: samples[0], runs: samples.count)
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

/// Peak resident set size of this process so far (since the last `resetPeakResidentBytes`), in
/// bytes: Linux's `VmHWM`, or `ru_maxrss` where /proc is missing.
public func peakResidentBytes() -> Int {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
       let kib = Int(line.split(whereSeparator: \.isWhitespace).dropFirst().first ?? "") {
        return kib * 1024
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}

/// Starts `peakResidentBytes` again from the current resident set (Linux `clear_refs` 5), so that
/// memory a benchmark allocated for its baselines and freed is not counted; false where that is
/// not possible (the peak then keeps counting from the process start).
@discardableResult
public func resetPeakResidentBytes() -> Bool {
    guard let file = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
    defer { try? file.close() }
    return (try? file.write(contentsOf: Data("5".utf8))) != nil
}
