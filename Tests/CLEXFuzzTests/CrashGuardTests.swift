import Foundation
import Testing

/// `clex` in the build directory of this test binary, if it was built.
let builtClex: String? = {
    let path = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("clex").path
    return FileManager.default.isExecutableFile(atPath: path) ? path : nil
}()

/// The crash, hang and memory guards, through the built `clex` binary (a crash must end a
/// process, so it cannot happen in this one). Skipped when `clex` was not built beside the
/// tests (`swift build --build-tests` builds it).
@Suite("Crash guard", .serialized,
       .enabled(if: builtClex != nil, "needs clex built beside the test binary: swift build --build-tests (the test command) builds it"))
struct CrashGuardTests {
    /// Runs `clex fuzz crash-check` with `seed` as an extra seed; returns the exit reason and stderr.
    func run(seed: String, options: [String]) throws -> (signaled: Bool, status: Int32, stderr: String, directory: String) {
        let directory = NSTemporaryDirectory() + "clex-crash-guard-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let seedFile = directory + "/input.bin"
        _ = FileManager.default.createFile(atPath: seedFile, contents: Data(seed.utf8))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(builtClex))
        process.arguments = ["fuzz", "crash-check", "--count", "20", "--seed", "3", "--out", directory + "/out",
                             "--seeds", seedFile] + options
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationReason == .uncaughtSignal, process.terminationStatus, stderr, directory)
    }

    @Test("a trap saves the input and names the target and the file")
    func crash() throws {
        let result = try run(seed: "CRASH here", options: [])
        defer { try? FileManager.default.removeItem(atPath: result.directory) }
        #expect(result.signaled)
        let file = result.directory + "/out/crash-crash-check-seed3.bin"
        #expect(result.stderr.contains("target 'crash-check' crashed (signal"), "\(result.stderr)")
        #expect(result.stderr.contains("input saved to \(file)"), "\(result.stderr)")
        #expect(FileManager.default.contents(atPath: file) == Data("CRASH here".utf8))
    }

    @Test("an input past the time limit is saved as a hang and the process aborts")
    func hang() throws {
        let result = try run(seed: "HANG on", options: ["--hang-limit", "0.3"])
        defer { try? FileManager.default.removeItem(atPath: result.directory) }
        #expect(result.signaled)
        let file = result.directory + "/out/hang-crash-check-seed3.bin"
        #expect(result.stderr.contains("ran longer than 300 ms (hang); input saved to \(file)"), "\(result.stderr)")
        #expect(FileManager.default.contents(atPath: file) == Data("HANG on".utf8))
    }

    @Test("an allocation past the memory limit is a crash, with the input saved")
    func memory() throws {
        let result = try run(seed: "ALLOC 1 GiB", options: ["--memory-limit", "256"])
        defer { try? FileManager.default.removeItem(atPath: result.directory) }
        #expect(result.signaled)
        #expect(result.stderr.contains("target 'crash-check' crashed"), "\(result.stderr)")
        #expect(FileManager.default.contents(atPath: result.directory + "/out/crash-crash-check-seed3.bin") == Data("ALLOC 1 GiB".utf8))
    }

    @Test("inputs that are handled end the run normally")
    func clean() throws {
        let result = try run(seed: "harmless", options: [])
        defer { try? FileManager.default.removeItem(atPath: result.directory) }
        #expect(!result.signaled)
        #expect(result.status == 0)
    }
}
