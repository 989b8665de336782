import CLEXCommandLine
import Foundation
import XCTest

/// Runs the built `clex` (beside the test bundle) as a child process.
struct ClexProcess {
    /// The outcome of a finished child.
    struct Result {
        var status: Int32
        var signaled: Bool
        var stdout: String
        var stderr: String
    }

    static var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("clex").path
    }

    let process = Process()
    let outPath: String
    let errPath: String

    /// Starts `clex arguments` in `directory` with empty standard input.
    init(_ arguments: [String], in directory: String) throws {
        outPath = (directory as NSString).appendingPathComponent(".stdout-\(UUID().uuidString)")
        errPath = (directory as NSString).appendingPathComponent(".stderr-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
    }

    /// Standard error so far.
    var stderrSoFar: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// Waits (at most `limit` seconds, then kills) and collects the outcome.
    func finish(limit: Double = 300) -> Result {
        let deadline = Date().addingTimeInterval(limit)
        while process.isRunning && Date() < deadline { usleep(5000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        return Result(status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
                      stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "", stderr: stderrSoFar)
    }

    /// Waits until `condition` holds (polling), at most `limit` seconds; false when it never did.
    func wait(upTo limit: Double, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(limit)
        while Date() < deadline {
            if condition() { return true }
            if !process.isRunning { return condition() }
            usleep(10_000)
        }
        return false
    }

    /// Runs `clex arguments` to the end.
    static func run(_ arguments: [String], in directory: String) throws -> Result {
        try ClexProcess(arguments, in: directory).finish()
    }
}

/// A fresh folder holding the tiny models and text of `ArgumentFuzzer` (`model`, `clexModel`, `text`).
struct Sandbox {
    let path: String
    let model: String
    let clexModel: String
    let text: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("clex-cli-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        (model, clexModel, text) = try ArgumentFuzzer(executable: ClexProcess.executable, sandbox: path, seed: 0).writeFixtures()
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
