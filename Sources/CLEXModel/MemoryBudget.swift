import Foundation

/// The memory a job may take on this machine, checked before it allocates, so that a model or a
/// context that cannot fit is refused with a message (what it needs, what the machine has)
/// instead of the kernel killing the process part-way.
public enum MemoryBudget {
    /// Memory the kernel can hand out now without swapping (`MemAvailable` of /proc/meminfo,
    /// which counts reclaimable file cache), nil where unreadable.
    public static func availableBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kib = Int(fields[1]) { return kib * 1024 }
        }
        return nil
    }

    /// Throws when `bytes` more would not fit in the available memory (with 5 % of it kept free).
    /// `what` names the allocation in the message.
    public static func require(_ bytes: Int, for what: String) throws {
        guard let available = availableBytes(), Double(bytes) > 0.95 * Double(available) else { return }
        throw MemoryError(description: "\(what) needs \(gigabytes(bytes)) of memory, but this machine has "
                          + "\(gigabytes(available)) available; use a smaller model, context or batch, or free memory")
    }

    /// `bytes` as "1.23 GB".
    static func gigabytes(_ bytes: Int) -> String { String(format: "%.2f GB", Double(bytes) / 1e9) }
}

/// A job refused because it would not fit in memory.
public struct MemoryError: Error, CustomStringConvertible {
    public let description: String
}
