import Foundation

/// The memory a job may take on this machine, checked before it allocates, so that a model or a
/// context that cannot fit is refused with a message (what it needs, what the machine has)
/// instead of the kernel killing the process part-way.
public enum MemoryBudget {
    /// Memory the kernel can hand out now without swapping (`MemAvailable` of /proc/meminfo,
    /// which counts reclaimable file cache), or less when the process's address space is limited
    /// (`ulimit -v`: the limit less what is mapped already); nil where unreadable.
    public static func availableBytes() -> Int? {
        let machine = kibibytes("MemAvailable:", in: "/proc/meminfo")
        var limit = rlimit()
        guard getrlimit(RLIMIT_AS_RESOURCE, &limit) == 0, limit.rlim_cur != rlim_t.max,
              let mapped = kibibytes("VmSize:", in: "/proc/self/status") else { return machine }
        let left = max(Int(clamping: limit.rlim_cur) - mapped, 0)
        return machine.map { min($0, left) } ?? left
    }

    /// The "`key` N kB" line of a /proc file, in bytes.
    private static func kibibytes(_ key: String, in path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kib = Int(fields[1]) { return kib * 1024 }
        }
        return nil
    }

    /// `RLIMIT_AS` as getrlimit takes it (an enum in Glibc's Swift import).
    private static let RLIMIT_AS_RESOURCE = __rlimit_resource_t(RLIMIT_AS.rawValue)

    /// What a job may take of `available` bytes: 95 %, the rest kept free.
    public static func usable(of available: Int) -> Int { Int(0.95 * Double(available)) }

    /// Throws when `bytes` more would not fit in the available memory (`usable(of:)`). `what`
    /// names the allocation in the message.
    public static func require(_ bytes: Int, for what: String) throws {
        guard let available = availableBytes(), bytes > usable(of: available) else { return }
        throw MemoryError(description: "\(what) needs \(gigabytes(bytes)) of memory, but this machine has "
                          + "\(gigabytes(available)) available; use a smaller model, context or batch, or free memory")
    }

    /// `bytes` as "1.23 GB".
    public static func gigabytes(_ bytes: Int) -> String { String(format: "%.2f GB", Double(bytes) / 1e9) }
}

/// A job refused because it would not fit in memory.
public struct MemoryError: Error, CustomStringConvertible {
    public let description: String
}
