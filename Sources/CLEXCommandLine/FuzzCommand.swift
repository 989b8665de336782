import CLEXFuzz
import Foundation

/// `clex fuzz [TARGET|all]`: the seeded mutation fuzzer over every parser of outside input.
enum FuzzCommand {
    static let spec = CommandSpec("fuzz", usage: "usage: clex fuzz [TARGET|all] [--count N] [--seed S] [--out DIR] [--seeds PATHS] …",
                                  options: [
                                      OptionSpec("--count", value: "N"), OptionSpec("--seed", ["-s"], value: "S"),
                                      OptionSpec("--out", ["-o"], value: "DIR"), OptionSpec("--seeds", value: "PATHS"),
                                      OptionSpec("--hang-limit", value: "SECONDS"), OptionSpec("--memory-limit", value: "MIB"),
                                      OptionSpec("--replay", value: "FILE"), OptionSpec("--list-errors", value: nil),
                                      OptionSpec("--write-seeds", value: "DIR"),
                                  ], positional: 1)

    static let command = Command(spec: spec, help: help, run: run)

    static var help: String {
        let targets = (FuzzTarget.all + [FuzzTarget.crashCheck])
            .map { "  " + $0.name.padding(toLength: 19, withPad: " ", startingAt: 0) + $0.summary }
            .joined(separator: "\n")
        return """
        usage: clex fuzz [TARGET|all] [--count N] [--seed S] [--out DIR] [--seeds PATHS]
                         [--hang-limit SECONDS] [--memory-limit MIB]
               clex fuzz TARGET --replay FILE
               clex fuzz [TARGET|all] --write-seeds DIR

        Mutates small valid files (built in, plus --seeds) and parses each result in memory, as
        the product would, counting what the parser did. Bad input must come back as an error:
        a crash, a hang or an allocation past the memory limit is a bug, and the input that
        caused it is saved to DIR with a message naming the target and the file.

        targets (all: every one but crash-check):
        \(targets)

          --count N            inputs per target, the seeds first (default 10000)
          --seed S             the run's seed; a target alone repeats what it did within all (default 1)
          --out DIR            where crash-*, hang-* and slowest-* inputs go (default: a clex-fuzz
                               directory in the system temporary directory)
          --seeds PATHS        comma-separated files or directories of extra seeds; each file goes
                               to the targets its name suits (.gguf, .safetensors, .index.json,
                               config.json, tokenizer.json, tokenizer_config.json, .bin, tokenizer.bin);
                               files over 256 KiB are skipped
          --hang-limit S       seconds one input may run before it counts as a hang (default 2)
          --memory-limit MIB   address space allowed beyond the size at the start (default 512)
          --replay FILE        run one saved input and print what the target did with it
          --list-errors        also list every distinct error message (numbers and quoted text blanked)
          --write-seeds DIR    write the built-in seeds to DIR as TARGET-seedN.bin (to inspect or replay)

        Prints progress every 5 s per target (inputs, inputs/s, distinct errors, slowest input),
        then per target: counts, the error kinds seen with their counts, the slowest input's time.
        Exit status: 0 when every input was handled (accepted or rejected with an input error),
        1 when some input raised an error of an unexpected type.

        clex fuzz args fuzzes the command line instead (clex help fuzz args).
        """
    }

    static func run(_ args: Arguments) throws -> Int32 {
        let listErrors = args.flag("--list-errors")
        let count = try args.int("--count", 10_000, in: 1...1_000_000_000)
        let seed = try args.int("--seed", 1, in: 0...Int.max)
        let hangLimit = try args.float("--hang-limit", 2, in: 0.001...86_400)
        let memory = try args.int("--memory-limit", 512, in: 64...(1 << 30))
        let out = args.string("--out") ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("clex-fuzz")
        let seedPaths = args.string("--seeds").map { $0.split(separator: ",").map(String.init) } ?? []
        let replay = args.string("--replay")
        let writeSeeds = args.string("--write-seeds")

        let name = args.positional.first ?? "all"
        let targets: [FuzzTarget]
        if name == "all" {
            targets = FuzzTarget.all
        } else if let target = FuzzTarget.named(name) {
            targets = [target]
        } else {
            throw UsageError("unknown fuzz target '\(name)' (known: all, args, \((FuzzTarget.all + [FuzzTarget.crashCheck]).map(\.name).joined(separator: ", ")))",
                             command: spec.name)
        }
        let options = FuzzOptions(count: count, seed: UInt64(seed), outputDirectory: out, hangLimit: Double(hangLimit),
                                  memoryBudget: memory << 20)

        if let writeSeeds {
            try FileManager.default.createDirectory(atPath: writeSeeds, withIntermediateDirectories: true)
            for target in targets {
                for (i, seed) in target.seeds.enumerated() {
                    let path = (writeSeeds as NSString).appendingPathComponent("\(target.name)-seed\(i).bin")
                    guard FileManager.default.createFile(atPath: path, contents: Data(seed)) else {
                        throw InputError("--write-seeds: cannot write \(path)")
                    }
                    emit(path)
                }
            }
            return 0
        }

        if let replay {
            guard targets.count == 1 else { throw UsageError("--replay needs one TARGET, not all", command: spec.name) }
            guard let input = FileManager.default.contents(atPath: replay) else {
                throw InputError("--replay: cannot read \(replay)")
            }
            let target = targets[0]
            let started = Date()
            let failure = FuzzRunner.replay(target, input: [UInt8](input), options: options)
            let ms = String(format: "%.2f", Date().timeIntervalSince(started) * 1000)
            if let failure {
                emit("\(target.name): rejected in \(ms) ms (\(type(of: failure))): \(failure)")
            } else {
                emit("\(target.name): accepted in \(ms) ms")
            }
            return 0
        }

        let extra = try loadSeeds(seedPaths)
        emit("clex fuzz: \(targets.count) target(s), \(count) inputs each, seed \(seed), output in \(out)")
        var unexpected = 0
        var total = 0
        let started = Date()
        for target in targets {
            let files = extra.filter { target.accepts(fileName: ($0.path as NSString).lastPathComponent) }
            if !files.isEmpty {
                emit("\(target.name): extra seeds \(files.map { ($0.path as NSString).lastPathComponent }.joined(separator: ", "))")
            }
            let report = FuzzRunner.run(target, options: options, extraSeeds: files.map(\.bytes)) { progress in
                emit(progress.line)
            }
            emit(report.summary)
            for line in report.kindLines { emit(line) }
            if listErrors { for line in report.messageLines { emit(line) } }
            for (message, n) in report.unexpectedErrors.sorted(by: { $0.key < $1.key }) {
                emit("  UNEXPECTED ×\(n): \(message)")
            }
            unexpected += report.unexpectedErrors.values.reduce(0, +)
            total += report.inputs
        }
        let seconds = Date().timeIntervalSince(started)
        emit("clex fuzz: \(total) inputs in \(String(format: "%.1f", seconds)) s, no crash, no hang, "
             + "\(unexpected) unexpected errors")
        return unexpected == 0 ? 0 : 1
    }

    /// Files named by `paths` (directories contribute their files, not recursively), up to 256 KiB each.
    static func loadSeeds(_ paths: [String]) throws -> [(path: String, bytes: [UInt8])] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw InputError("--seeds: \(path) does not exist")
            }
            if isDirectory.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
                files += names.map { (path as NSString).appendingPathComponent($0) }
            } else {
                files.append(path)
            }
        }
        var out: [(path: String, bytes: [UInt8])] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file), data.count <= 256 << 10 else { continue }
            out.append((file, [UInt8](data)))
        }
        return out
    }
}
