import Foundation

/// Settings of a fuzzing run.
public struct FuzzOptions: Sendable {
    /// Inputs per target (the seeds themselves come first).
    public var count: Int
    /// The run's seed; each target draws from this seed mixed with its name, so one target
    /// alone replays exactly what it did within `all`.
    public var seed: UInt64
    /// Where crashing and hanging inputs (`crash-TARGET-seedS.bin`, `hang-…`) and each target's
    /// slowest input (`slowest-TARGET.bin`) are written.
    public var outputDirectory: String
    /// Seconds one input may run before the watchdog saves it and aborts.
    public var hangLimit: Double
    /// Bytes of address space allowed beyond the size at the start (nil: no limit).
    public var memoryBudget: Int?
    /// Seconds between progress reports.
    public var progressInterval: Double
    /// Largest mutated input, in bytes.
    public var maximumInputSize: Int

    /// Options with the defaults of `clex fuzz`: 2 s per input, 512 MiB of address space,
    /// progress every 5 s, inputs up to 1 MiB.
    public init(count: Int, seed: UInt64, outputDirectory: String, hangLimit: Double = 2,
                memoryBudget: Int? = 512 << 20, progressInterval: Double = 5, maximumInputSize: Int = 1 << 20) {
        self.count = count
        self.seed = seed
        self.outputDirectory = outputDirectory
        self.hangLimit = hangLimit
        self.memoryBudget = memoryBudget
        self.progressInterval = progressInterval
        self.maximumInputSize = maximumInputSize
    }
}

/// Where a run stands, for progress lines.
public struct FuzzProgress: Sendable {
    public var target: String
    public var inputs: Int
    public var total: Int
    public var inputsPerSecond: Double
    public var distinctErrorKinds: Int
    public var slowestSeconds: Double

    /// `gguf: 250000/1000000 inputs, 41234 inputs/s, 57 distinct errors, slowest 2.10 ms`.
    public var line: String {
        "\(target): \(inputs)/\(total) inputs, \(Int(inputsPerSecond.rounded())) inputs/s, "
            + "\(distinctErrorKinds) distinct errors, slowest \(String(format: "%.2f", slowestSeconds * 1000)) ms"
    }
}

/// The in-process mutation loop: runs a target's seeds, then mutations of its corpus, each under
/// the `CrashGuard`, and counts what the target did with them.
///
/// The corpus starts with the seeds and grows (up to `maximumCorpusGrowth` entries) with inputs
/// that produced an error message not seen before, and now and then with an accepted input: a
/// cheap stand-in for coverage feedback that lets mutations build on inputs that got further
/// into the parser.
public enum FuzzRunner {
    /// Distinct normalised error messages tracked per target.
    static let maximumDistinctKinds = 100_000
    /// Inputs added to the corpus beyond the seeds.
    static let maximumCorpusGrowth = 256

    /// Fuzzes `target` with `options.count` inputs; `extraSeeds` join the built-in seeds;
    /// `progress` is called every `options.progressInterval` seconds.
    public static func run(_ target: FuzzTarget, options: FuzzOptions, extraSeeds: [[UInt8]] = [],
                           progress: (FuzzProgress) -> Void = { _ in }) -> FuzzReport {
        var report = FuzzReport(target: target.name)
        var corpus: [[UInt8]] = []
        for seed in target.seeds + extraSeeds where !corpus.contains(seed) { corpus.append(seed) }
        if corpus.isEmpty { corpus = [[]] }
        report.seedCount = corpus.count
        let seedCount = corpus.count

        try? FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
        let prefix = directoryPrefix(options.outputDirectory)
        let crashGuard = CrashGuard(target: target.name,
                                    crashPath: prefix + "crash-\(target.name)-seed\(options.seed).bin",
                                    hangPath: prefix + "hang-\(target.name)-seed\(options.seed).bin",
                                    hangLimit: options.hangLimit, memoryBudget: options.memoryBudget)
        defer { crashGuard.deactivate() }

        var mutator = FuzzMutator(seed: options.seed ^ stableHash(target.name), maximumSize: options.maximumInputSize,
                                  dictionary: target.dictionary)
        let started = monotonicNanoseconds()
        var lastReport = started

        for i in 0..<options.count {
            let input: [UInt8]
            if i < seedCount {
                input = corpus[i]
            } else {
                // Half the time a seed, so that the grown corpus never crowds out the valid files.
                let grown = corpus.count - seedCount
                let parent = grown > 0 && mutator.below(2) == 0 ? corpus[seedCount + mutator.below(grown)]
                                                                : corpus[mutator.below(seedCount)]
                let donor = corpus[mutator.below(corpus.count)]
                input = mutator.mutate(parent, format: target.format, donor: donor)
            }
            let t0 = monotonicNanoseconds()
            var failure: (any Error)?
            input.withUnsafeBytes { raw in
                crashGuard.stage(raw, iteration: i)
                do { try target.run(input) } catch { failure = error }
                crashGuard.unstage()
            }
            let t1 = monotonicNanoseconds()
            report.inputs += 1

            let seconds = Double(t1 - t0) / 1e9
            if seconds > report.slowestSeconds {
                report.slowestSeconds = seconds
                report.slowestInput = input
            }
            var novel = false
            if let failure {
                let kind = FuzzErrorKind(failure)
                report.errorsByKind[kind.coarse, default: 0] += 1
                if !kind.isExpected { report.unexpectedErrors[kind.detailed, default: 0] += 1 }
                if let n = report.errorMessages[kind.detailed] {
                    report.errorMessages[kind.detailed] = n + 1
                } else if report.errorMessages.count < maximumDistinctKinds {
                    report.errorMessages[kind.detailed] = 1
                    novel = true
                }
            } else {
                report.accepted += 1
                novel = mutator.below(16) == 0
            }
            if novel && i >= seedCount && !input.isEmpty {
                if report.corpusGrowth < maximumCorpusGrowth {
                    corpus.append(input)
                    report.corpusGrowth += 1
                } else {
                    corpus[seedCount + mutator.below(maximumCorpusGrowth)] = input
                }
            }
            if i & 63 == 63 {
                let now = monotonicNanoseconds()
                if Double(now - lastReport) / 1e9 >= options.progressInterval {
                    lastReport = now
                    progress(FuzzProgress(target: target.name, inputs: report.inputs, total: options.count,
                                          inputsPerSecond: Double(report.inputs) / (Double(now - started) / 1e9),
                                          distinctErrorKinds: report.distinctErrorKinds, slowestSeconds: report.slowestSeconds))
                }
            }
        }
        report.seconds = Double(monotonicNanoseconds() - started) / 1e9
        if !report.slowestInput.isEmpty {
            _ = FileManager.default.createFile(atPath: prefix + "slowest-\(target.name).bin", contents: Data(report.slowestInput))
        }
        return report
    }

    /// Runs one input (a saved crash, hang or slow input) under the guard; returns the error it
    /// threw, or nil when the target accepted it.
    public static func replay(_ target: FuzzTarget, input: [UInt8], options: FuzzOptions) -> (any Error)? {
        try? FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
        let prefix = directoryPrefix(options.outputDirectory)
        let crashGuard = CrashGuard(target: target.name, crashPath: prefix + "crash-\(target.name)-replay.bin",
                                    hangPath: prefix + "hang-\(target.name)-replay.bin",
                                    hangLimit: options.hangLimit, memoryBudget: options.memoryBudget)
        defer { crashGuard.deactivate() }
        var failure: (any Error)?
        input.withUnsafeBytes { raw in
            crashGuard.stage(raw, iteration: 0)
            do { try target.run(input) } catch { failure = error }
            crashGuard.unstage()
        }
        return failure
    }

    /// `directory` with a trailing slash.
    static func directoryPrefix(_ directory: String) -> String {
        directory.hasSuffix("/") ? directory : directory + "/"
    }

    /// FNV-1a of `text`: a hash that is the same in every process (Swift's `hashValue` is not).
    static func stableHash(_ text: String) -> UInt64 {
        text.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }
}
