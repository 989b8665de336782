import CLEXFormats
import Foundation

/// One measured kernel: its rate and how that rate compares with a baseline from the same run.
public struct BenchmarkRow: Codable, Sendable {
    /// Kernel name, e.g. "matmul x·Wᵀ".
    public var op: String
    /// Shape in words, e.g. "2048×1536×576".
    public var shape: String
    /// Median milliseconds per call.
    public var milliseconds: Double
    /// Rate in `unit`.
    public var rate: Double
    /// "GFLOP/s" or "GB/s".
    public var unit: String
    /// `rate` ÷ the baseline's rate.
    public var ratio: Double?
    /// What `ratio` divides by, e.g. "sgemm 2048×1536×576".
    public var baseline: String?
    /// Anything else worth keeping (extra memory, notes).
    public var note: String?
}

/// A benchmark run: machine facts plus rows; prints as a table and saves as JSON.
public struct BenchmarkReport: Codable, Sendable {
    /// OpenBLAS kernel family in use.
    public var blasCore: String
    /// Threads used by OpenBLAS and by the project's kernels.
    public var threads: Int
    /// CPU model name from /proc/cpuinfo.
    public var cpu: String
    /// The measurements, in run order.
    public var rows: [BenchmarkRow] = []

    /// Renders the rows as an aligned text table.
    public func table() -> String {
        var lines = ["CPU: \(cpu) · OpenBLAS core \(blasCore) · \(threads) threads",
                     pad("op", 30) + pad("shape", 26) + lpad("ms", 10) + lpad("rate", 14) + "  " + pad("ratio", 8) + "baseline"]
        for r in rows {
            let rate = String(format: "%.1f %@", r.rate, r.unit)
            let ratio = r.ratio.map { String(format: "%.2f×", $0) } ?? "–"
            var line = pad(r.op, 30) + pad(r.shape, 26) + lpad(String(format: "%.3f", r.milliseconds), 10)
                + lpad(rate, 14) + "  " + pad(ratio, 8) + (r.baseline ?? "")
            if let n = r.note { line += "  (\(n))" }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// Writes the report as JSON, atomically (temporary file, then rename).
    public func save(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFileWriter.write(try encoder.encode(self), to: url.path)
    }

    private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
    private func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
}

/// The CPU's model name, for reports.
public func cpuModelName() -> String {
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
          let colon = line.firstIndex(of: ":") else { return "unknown" }
    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
}
