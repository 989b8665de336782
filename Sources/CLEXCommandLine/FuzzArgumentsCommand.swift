import Foundation

/// `clex fuzz args`: mutated command lines for every command, each run as a child process
/// (see `ArgumentFuzzer`).
enum FuzzArgumentsCommand {
    static let spec = CommandSpec("fuzz args", usage: "usage: clex fuzz args [--count N] [--seed S] [--jobs J] [--time-limit SECONDS] [--out DIR]",
                                  options: [
                                      OptionSpec("--count", value: "N"), OptionSpec("--seed", ["-s"], value: "S"),
                                      OptionSpec("--jobs", ["-j"], value: "J"), OptionSpec("--time-limit", value: "SECONDS"),
                                      OptionSpec("--out", ["-o"], value: "DIR"),
                                  ])

    static let help = """
    \(spec.usage)

    Runs valid command lines of every command (over a tiny model and text written into a sandbox
    folder), then mutated ones: words dropped, repeated or swapped, values replaced by hostile ones
    (negative, zero, NaN, huge, overflowing, empty), flags inserted, misspelt or written --flag=value.
    Each runs as a child process (ulimit -v 8 GiB, standard input empty) and must end with exit
    status 0, or 1 or 2 with a message: a trap, abort, signal, status ≥ 128 or a silent failure is
    printed with its command line. A run still going at the time limit is killed and listed (a
    valid long job is not a failure).

      --count N            command lines, the valid ones first (default 1000)
      --seed S             seed of the mutations (default 1)
      -j, --jobs J         children at once, 1 … 64 (default 2)
      --time-limit S       seconds one command line may run (default 10)
      --out DIR            the sandbox (default: clex-fuzz-args in the system temporary directory; removed at the end)

    Exit status: 0 when every command line was handled, 1 when some failed.
    """

    static let command = Command(spec: spec, help: help, run: run)

    static func run(_ args: Arguments) throws -> Int32 {
        let count = try args.int("--count", 1000, in: 1...10_000_000)
        let seed = try args.seed("--seed", 1)
        let jobs = try args.int("--jobs", 2, in: 1...64)
        let timeLimit = try args.double("--time-limit", 10, in: 0.1...3600)
        let sandbox = args.string("--out") ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("clex-fuzz-args-\(getpid())")
        try OutputLocation.requireWritable(directory: sandbox, flag: "--out")
        guard !FileManager.default.fileExists(atPath: sandbox) else {
            throw InputError("--out \(sandbox) exists; the sandbox must be a new folder (it is removed at the end)")
        }
        defer { try? FileManager.default.removeItem(atPath: sandbox) }
        var fuzzer = ArgumentFuzzer(executable: try executablePath(), sandbox: sandbox, seed: seed)
        fuzzer.jobs = jobs
        fuzzer.timeLimit = timeLimit
        let report = try fuzzer.run(count: count) { done in
            if done % 500 == 0 || done == count { note("[\(done)/\(count) command lines]") }
        }
        for line in report.timedOut { emit("ran past \(timeLimit) s: clex \(quoted(line))") }
        for failure in report.failures { emit("FAILED: clex \(quoted(failure.arguments))\n  \(failure.reason)") }
        emit(report.summary)
        return report.failures.isEmpty ? 0 : 1
    }

    /// This program's own executable.
    static func executablePath() throws -> String {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        guard FileManager.default.isExecutableFile(atPath: path) else { throw InputError("cannot find the clex executable (\(path))") }
        return path
    }

    /// `words` as a shell would need them.
    static func quoted(_ words: [String]) -> String {
        words.map { w in
            w.isEmpty || w.contains(where: { " '\"\\$`;&|*?()<>".contains($0) || $0.isWhitespace })
                ? "'" + w.replacingOccurrences(of: "'", with: "'\\''") + "'" : w
        }.joined(separator: " ")
    }
}
