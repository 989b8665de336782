import CLEXDemo
import Foundation
import Testing

/// `RunTime`: the wall time of a demo or study directory across the runs that resume it.
@Suite("clex demo: wall time across resumed runs")
struct RunTimeTests {
    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("runtime-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("a fresh directory counts this run; a resumed one adds the recorded seconds and says so")
    func resumed() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = RunTime(directory: dir)
        #expect(first.earlierSeconds == 0)
        #expect(first.description.hasSuffix(" s") && !first.description.contains("resumed"))
        try "100.0\n".write(toFile: dir + "/run-seconds", atomically: true, encoding: .utf8)
        let second = RunTime(directory: dir)
        #expect(second.earlierSeconds == 100)
        #expect(second.total >= 100)
        #expect(second.description.hasPrefix("100 s over the runs that resumed this directory (this run 0 s)"))
        second.record()
        let recorded = Double(try String(contentsOfFile: dir + "/run-seconds", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(recorded.map { $0 >= 100 && $0 < 200 } == true)
    }

    @Test("an unreadable record counts as none, and no directory is created to record into")
    func robust() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "not a number".write(toFile: dir + "/run-seconds", atomically: true, encoding: .utf8)
        #expect(RunTime(directory: dir).earlierSeconds == 0)
        let missing = dir + "/not-yet"
        RunTime(directory: missing).record()
        #expect(!FileManager.default.fileExists(atPath: missing))
    }
}
