import Foundation

/// The temporary files and directories the program is writing right now (atomic writes stage
/// their bytes in one, then rename it into place), so that an interrupted run can remove them
/// before it exits: a Ctrl-C never leaves a half-written file behind.
///
/// Register a path before creating it. Once `close()` has run (the process is about to exit),
/// registering is refused, so no new temporary file appears; paths stay listed until
/// `unregister`, so `close` can remove them twice (a writer may have been creating one while the
/// first removal ran).
public enum TemporaryFiles {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var paths: Set<String> = []
    nonisolated(unsafe) private static var closing = false

    /// Records `path` as a temporary file or directory about to be written; false when the
    /// process is exiting (then do not create it).
    public static func register(_ path: String) -> Bool {
        lock.withLock {
            guard !closing else { return false }
            paths.insert(path)
            return true
        }
    }

    /// `path` was renamed into place or removed: no longer temporary.
    public static func unregister(_ path: String) {
        lock.withLock { _ = paths.remove(path) }
    }

    /// Refuses further registrations and removes every registered path (files and directories),
    /// twice with `settle` seconds between, so that one being created during the first pass goes
    /// too. Returns how many were removed.
    @discardableResult
    public static func close(settle: Double = 0.05) -> Int {
        let listed = lock.withLock { () -> [String] in
            closing = true
            return Array(paths)
        }
        var removed = Set<String>()
        for pass in 0..<2 {
            if pass == 1 { usleep(UInt32(settle * 1e6)) }
            for path in lock.withLock({ Array(paths) }) + listed where (try? FileManager.default.removeItem(atPath: path)) != nil {
                removed.insert(path)
            }
        }
        return removed.count
    }
}
