import CLEXModel
import CLEXTensor
import Foundation

/// Mutation fuzzing of the command line: valid command lines for every command (over a tiny
/// model and text written into a sandbox folder; every path in them, and every path a mutation
/// can insert, lies in the sandbox or under /proc, where nothing can be created) are mutated — words dropped, repeated, swapped,
/// values replaced by hostile ones (negative, zero, NaN, huge, overflowing, empty), flags of the
/// command inserted, misspelt or written `--flag=value` — and each is run as a child process.
/// Every run must end with exit status 0, or 1 or 2 with a message on standard error: a signal,
/// a status ≥ 128 or a silent failure is reported with the command line that caused it.
public struct ArgumentFuzzer: Sendable {
    /// One child run's outcome.
    public enum Outcome: Equatable, Sendable {
        /// Exit status below 128, with a message when it is not 0.
        case handled(status: Int32)
        /// Still running at the time limit; killed by the fuzzer (a valid long job, not a failure).
        case timedOut
        /// A trap, abort, signal, status ≥ 128 or a failure without a message.
        case failed(String)
    }

    /// A failing command line and why.
    public struct Failure: Sendable {
        public var arguments: [String]
        public var reason: String
    }

    /// What a run found.
    public struct Report: Sendable {
        public var cases = 0
        /// Cases by exit status.
        public var statuses: [Int32: Int] = [:]
        public var timedOut: [[String]] = []
        public var failures: [Failure] = []

        /// One line: counts by status, time-outs and failures.
        public var summary: String {
            let byStatus = statuses.keys.sorted().map { "exit \($0): \(statuses[$0]!)" }.joined(separator: ", ")
            return "fuzz args: \(cases) command lines (\(byStatus)); \(timedOut.count) ran past the time limit; "
                + "\(failures.count) failed"
        }
    }

    /// The `clex` executable to run.
    public var executable: String
    /// The folder holding the tiny model, text and every output (created, and removed at the end).
    public var sandbox: String
    public var seed: UInt64
    /// Seconds one command line may run before it is killed and counted as timed out.
    public var timeLimit: Double = 10
    /// Address space each child may use (`ulimit -v`), in bytes.
    public var memoryLimit = 8 << 30
    /// Children run at once.
    public var jobs = 2

    public init(executable: String, sandbox: String, seed: UInt64) {
        self.executable = executable
        self.sandbox = sandbox
        self.seed = seed
    }

    /// Valid command lines, one or more per command; `{M}` is a tiny model (plain RoPE), `{C}` a
    /// tiny CLEX model, `{T}` a text file and `{O}` an output folder of the case's own.
    static let seedLines: [[String]] = [
        ["generate", "-m", "{M}", "-p", "hello", "-n", "4", "-t", "1", "-c", "64", "--temp", "0"],
        ["generate", "--model", "{C}", "--prompt", "to be or", "--max-tokens", "3", "--json", "--rope-scaling", "clex",
         "--clex-max-factor", "4", "--seed", "7", "--temperature", "0.8", "--top-k", "5", "--top-p", "0.9", "--min-p", "0.05",
         "--clex-prefill", "single"],
        ["generate", "-m", "{M}", "-f", "{T}", "-n", "2", "--no-display-prompt", "--rope-scaling", "yarn", "--rope-scale", "2",
         "--yarn-orig-ctx", "64", "--tokenizer", "bytes", "--stop", "e"],
        ["chat", "-m", "{M}", "-n", "3", "--system", "be brief", "-c", "128", "--weights", "F16", "--activations", "f32"],
        ["train", "--model", "{M}", "--data", "{T}", "--out", "{O}", "--steps", "2", "--batch", "1", "--seq-len", "16",
         "--checkpoint-every", "2", "--validate-every", "0", "--keep", "1", "--lr", "1e-3", "-t", "1"],
        ["train", "--preset", "tiny", "--data", "{T}", "--out", "{O}", "--steps", "1", "--batch", "1", "--context", "16",
         "--rope-scaling", "clex", "--clex-max-factor", "4", "--seed", "3", "--warmup", "0", "--schedule", "constant"],
        ["rope", "--method", "clex", "--dim", "16", "--t", "1,2,4", "--json", "--clex-max-factor", "4"],
        ["rope", "--method", "yarn", "--dim", "16", "--rope-scale", "4", "--yarn-orig-ctx", "64", "--lengths", "64,256"],
        ["info", "{M}", "--json"],
        ["export", "-m", "{C}", "--out", "{O}"],
        ["eval", "ppl", "-m", "{M}", "--text", "{T}", "--lengths", "16,32", "--windows", "1", "--out", "{O}", "--quiet",
         "--methods", "none;--rope-scaling linear --rope-scale 2", "--protocol", "sliding", "--stride", "8"],
        ["eval", "ppl", "-m", "{C}", "--text", "{T}", "--lengths", "32", "--windows", "1", "--out", "{O}", "--quiet",
         "--protocol", "reference", "--chunk", "8"],
        ["eval", "passkey", "-m", "{M}", "--lengths", "64", "--depths", "0,1", "--trials", "1", "--new-tokens", "2",
         "--out", "{O}", "--quiet"],
        ["bench", "infer", "-m", "{M}", "--quick", "--prefill", "8", "--contexts", "8", "--decode-tokens", "2", "--json", "{O}/b.json"],
        ["bench", "kernels", "--quick", "--json", "/proc/version/k.json", "-t", "0"],
        ["bench", "train", "--quick", "--json", "{O}", "--threads", "0"],
        ["demo", "--quick", "--texts", "{O}/missing", "--out", "{O}", "--continue-length", "3"],
        ["fuzz", "hf-config", "--count", "3", "--out", "{O}"],
        ["help", "eval", "ppl"],
        ["--version"],
    ]

    /// Values that break naive parsing.
    static let hostileValues = [
        "0", "-1", "-0", "1", "2", "7", "1e30", "-1e30", "nan", "NaN", "inf", "-inf", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "18446744073709551616", "99999999", "16777216", "2147483648",
        "1k", "9999999999999999k", "k", "", " ", "abc", "1,2", ",", ",,", "0.5", "1e-30", "-", "--", "=", "0x10",
        "1_000", "２", "{M}", "{C}", "{T}", "{O}", "{O}/missing/x", "/proc/version", "/proc/version/x", "none", "clex", "yarn", "q8", "F16",
    ]

    /// Runs `count` mutated command lines (the seed lines first, unmutated); `progress` gets the
    /// number of cases finished so far, after each one.
    public func run(count: Int, progress: @Sendable (Int) -> Void = { _ in }) throws -> Report {
        try FileManager.default.createDirectory(atPath: sandbox, withIntermediateDirectories: true)
        let files = try writeFixtures()
        var generator = SeededGenerator(seed: seed)
        let cases: [[String]] = (0..<count).map { i in
            let line = i < Self.seedLines.count ? Self.seedLines[i] : mutate(Self.seedLines[Int(generator.next() % UInt64(Self.seedLines.count))], &generator)
            return line.map { word in
                word.replacingOccurrences(of: "{M}", with: files.model).replacingOccurrences(of: "{C}", with: files.clexModel)
                    .replacingOccurrences(of: "{T}", with: files.text)
                    .replacingOccurrences(of: "{O}", with: (sandbox as NSString).appendingPathComponent("out-\(i)"))
            }
        }
        let lock = NSLock()
        var report = Report()
        let next = UncheckedBox(0)
        let outcomes = UncheckedBox([Outcome?](repeating: nil, count: count))
        let finished = UncheckedBox(0)
        DispatchQueue.concurrentPerform(iterations: max(1, jobs)) { worker in
            while true {
                let i: Int = lock.withLock { defer { next.value += 1 }; return next.value }
                if i >= count { break }
                let outcome = runCase(cases[i], index: i)
                try? FileManager.default.removeItem(atPath: (sandbox as NSString).appendingPathComponent("out-\(i)"))
                lock.withLock {
                    outcomes.value[i] = outcome
                    finished.value += 1
                    progress(finished.value)
                }
            }
        }
        for (i, outcome) in outcomes.value.enumerated() {
            report.cases += 1
            switch outcome! {
            case .handled(let status): report.statuses[status, default: 0] += 1
            case .timedOut: report.timedOut.append(cases[i])
            case .failed(let reason): report.failures.append(Failure(arguments: cases[i], reason: reason))
            }
        }
        return report
    }

    /// A mutation of `line`: one to three edits.
    func mutate(_ line: [String], _ g: inout SeededGenerator) -> [String] {
        var words = line
        let commandWords = words.first == "eval" || words.first == "bench" ? 2 : 1
        let spec = CommandLineTool.lookUp(line).0?.spec
        func pick(_ n: Int) -> Int { Int(g.next() % UInt64(max(n, 1))) }
        for _ in 0...pick(3) {
            let editable = commandWords..<max(words.count, commandWords)
            let at = editable.isEmpty ? words.count : editable.lowerBound + pick(editable.count)
            switch pick(8) {
            case 0 where at < words.count: words.remove(at: at)
            case 1 where at < words.count: words.insert(words[at], at: at)
            case 2 where words.count > commandWords + 1:
                words.swapAt(at, commandWords + pick(words.count - commandWords))
            case 3 where at < words.count: words[at] = Self.hostileValues[pick(Self.hostileValues.count)]
            case 4:
                if let spec {
                    let option = spec.options[pick(spec.options.count)]
                    let name = option.spellings[pick(option.spellings.count)]
                    let value = option.takesValue ? [Self.hostileValues[pick(Self.hostileValues.count)]] : []
                    words.insert(contentsOf: [name] + value, at: min(at, words.count))
                }
            case 5 where at < words.count && words[at].hasPrefix("--") && at + 1 < words.count:
                words[at] += "=" + words.remove(at: at + 1)
            case 6 where at < words.count && words[at].count > 3:
                var chars = Array(words[at])
                chars.remove(at: 2 + pick(chars.count - 2))
                words[at] = String(chars)
            default:
                if at < words.count { words[at] = Self.hostileValues[pick(Self.hostileValues.count)] }
            }
        }
        return words
    }

    /// Runs one command line in a child process under the time and memory limits.
    func runCase(_ arguments: [String], index: Int) -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -v \(memoryLimit >> 10); exec \"$0\" \"$@\"", executable] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: sandbox)
        let errorPath = (sandbox as NSString).appendingPathComponent("stderr-\(index)")
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errorPath) }
        guard let errorFile = FileHandle(forWritingAtPath: errorPath) else { return .failed("cannot open \(errorPath)") }
        defer { try? errorFile.close() }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errorFile
        do { try process.run() } catch { return .failed("cannot start: \(error)") }
        let deadline = Date().addingTimeInterval(timeLimit)
        while process.isRunning && Date() < deadline { usleep(2000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return .timedOut
        }
        let status = process.terminationStatus
        let message = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        if process.terminationReason == .uncaughtSignal {
            return .failed("killed by signal \(status): \(message.suffix(2000))")
        }
        if status >= 128 { return .failed("exit status \(status): \(message.suffix(2000))") }
        if status != 0 && message.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            return .failed("exit status \(status) without a message")
        }
        return .handled(status: status)
    }

    /// Writes into `sandbox` the tiny models the command lines use (HF folders, byte vocabulary,
    /// 64-token window; one plain RoPE, one CLEX with T = 4) and a text of about 3 kB.
    public func writeFixtures() throws -> (model: String, clexModel: String, text: String) {
        let config = LlamaConfiguration(vocabularySize: 257, hiddenSize: 32, intermediateSize: 64, layerCount: 1, headCount: 2,
                                        headDimension: 16, ropeTheta: 10000, maxPositionEmbeddings: 64)
        let model = LlamaModel(configuration: config, parameters: LlamaParameters(randomFor: config, seed: 1))
        let plain = (sandbox as NSString).appendingPathComponent("tiny")
        let clex = (sandbox as NSString).appendingPathComponent("tiny-clex")
        try ModelWriter.saveHF(model, positional: try PositionalConfiguration(model: config).makeMethod(seed: 0), to: plain)
        var clexPositional = PositionalConfiguration(model: config)
        clexPositional.scheme = .clex(CLEXParameters(maxFactor: 4))
        try ModelWriter.saveHF(model, positional: try clexPositional.makeMethod(seed: 0), to: clex)
        for folder in [plain, clex] { try ByteTokenizerMarker.write(into: folder) }
        let text = (sandbox as NSString).appendingPathComponent("text.txt")
        let lines = (0..<60).map { "Line \($0): to be, or not to be, that is the question." }
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: text))
        return (plain, clex, text)
    }
}

/// A mutable value shared by the workers under a lock they hold.
private final class UncheckedBox<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
