import Foundation

/// The `clex` command: one subcommand per user task; nothing numeric lives here.
///
/// Exit status: 0 success; 1 bad input or a file problem (a missing or corrupt model, an
/// unwritable output, a job that does not fit in memory); 2 a command line it cannot interpret
/// (the usage of that command follows the message); 130 interrupted (SIGINT), 143 terminated
/// (SIGTERM).
public enum CommandLineTool {
    /// The tool's version, printed by `clex --version`.
    public static let version = "0.1.0"

    public static let usage = """
    usage: clex <command> [options]

    commands:
      generate -m FILE -p TEXT [-n N]         continue a prompt (greedy or sampled)
      chat -m FILE [--system TEXT]            interactive ChatML conversation on stdin/stdout
      serve -m FILE [--port N] [--parallel N] OpenAI-compatible HTTP server, KV cache kept across requests
      train --data PATHS --out DIR …          pretrain (--preset) or fine-tune (--model), any positional method
      rope --method M --dim D [--t …] [--json] frequencies of a positional method (CLEX: θ(t))
      info FILE [--json]                      architecture, sizes, rope, tokenizer and tensor types
      export --model FILE --out DIR           write any checkpoint as an HF directory (for PyTorch/HF tools)
      eval ppl|passkey --model FILE …         long-context perplexity curves and passkey retrieval
      demo [--quick]                          the paper's experiment at CPU scale on Shakespeare
      bench kernels|infer|train               time kernels, inference or training beside sgemm and memory copy
      fuzz [TARGET|all|args] [--count N]      mutation fuzzing of every file parser, or of the command line

    clex help COMMAND (or clex COMMAND --help) prints the options of a command; clex --version
    prints the version. Exit status: 0 done, 1 bad input or a file problem, 2 a command line it
    cannot interpret, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
    """

    /// Every command, by the words that select it.
    public static let commands: [Command] = [
        GenerateCommand.command, ChatCommand.command, TrainCommand.command, RopeCommand.command, InfoCommand.command,
        ExportCommand.command, EvalCommand.perplexityCommand, EvalCommand.passkeyCommand, DemoCommand.command,
        BenchCommand.kernelsCommand, BenchCommand.inferCommand, BenchCommand.trainCommand, FuzzCommand.command,
        FuzzArgumentsCommand.command, ServeCommand.command,
    ]

    /// Command groups whose second word selects the command.
    static let groups: [String: String] = [
        "eval": EvalCommand.help, "bench": BenchCommand.help,
    ]

    /// Runs the command line `args` (without the program name); returns the process exit status.
    public static func run(_ args: [String]) -> Int32 {
        guard let first = args.first else {
            FileHandle.standardError.write(Data((usage + "\n").utf8))
            return 2
        }
        switch first {
        case "--version", "-V", "version":
            print("clex \(version)")
            return 0
        case "-h", "--help":
            print(usage)
            return 0
        case "help":
            return help(Array(args.dropFirst()))
        default:
            break
        }
        let (found, rest) = lookUp(args)
        guard let command = found else {
            if let group = groups[first] {
                let sub = args.dropFirst().first
                return fail(UsageError(sub.map { "unknown \(first) task '\($0)'" } ?? "\(first) needs a task", command: nil),
                            extra: group)
            }
            return fail(UsageError("unknown command '\(first)'" + suggestion(first)), extra: nil)
        }
        if (rest.firstIndex(of: "--") ?? rest.endIndex) > (rest.firstIndex { $0 == "-h" || $0 == "--help" } ?? rest.endIndex) {
            print(command.help)
            return 0
        }
        do {
            let arguments = try Arguments(rest, spec: command.spec)
            try ThreadsOption.apply(arguments)
            return try command.run(arguments)
        } catch let error as UsageError {
            return fail(error, extra: nil)
        } catch {
            Interrupts.awaitExitIfStopping()
            FileHandle.standardError.write(Data("clex \(command.spec.name): \(error)\n".utf8))
            return 1
        }
    }

    /// The command selected by the first one or two words of `args`, and the words after them.
    static func lookUp(_ args: [String]) -> (Command?, [String]) {
        if args.count >= 2, let c = commands.first(where: { $0.spec.name == "\(args[0]) \(args[1])" }) {
            return (c, Array(args.dropFirst(2)))
        }
        return (commands.first { $0.spec.name == args[0] }, Array(args.dropFirst()))
    }

    /// `clex help [COMMAND [TASK]]`.
    static func help(_ words: [String]) -> Int32 {
        guard !words.isEmpty else {
            print(usage)
            return 0
        }
        let (found, rest) = lookUp(words)
        if let found, rest.isEmpty {
            print(found.help)
            return 0
        }
        if words.count == 1, let group = groups[words[0]] {
            print(group)
            return 0
        }
        return fail(UsageError("no help for '\(words.joined(separator: " "))'" + suggestion(words[0])), extra: nil)
    }

    /// "; did you mean generate?" for a mistyped command.
    static func suggestion(_ word: String) -> String {
        let names = Set(commands.map { String($0.spec.name.split(separator: " ")[0]) }).sorted()
        guard let best = names.min(by: {
            CommandSpec.editDistance(Array(word), Array($0)) < CommandSpec.editDistance(Array(word), Array($1))
        }), CommandSpec.editDistance(Array(word), Array(best)) <= 2 else { return "" }
        return "; did you mean \(best)?"
    }

    /// Prints a usage error with the usage of its command (or `extra`, or the tool's); returns 2.
    static func fail(_ error: UsageError, extra: String?) -> Int32 {
        var text = "clex\(error.command.map { " " + $0 } ?? ""): \(error.message)\n"
        if let name = error.command, let command = commands.first(where: { $0.spec.name == name }) {
            text += "\(command.spec.usage)\nRun 'clex help \(name)' for every option.\n"
        } else {
            text += "\n" + (extra ?? usage) + "\n"
        }
        FileHandle.standardError.write(Data(text.utf8))
        return 2
    }
}

/// A subcommand: what it accepts, its help text and what it does.
public struct Command: Sendable {
    public let spec: CommandSpec
    public let help: String
    let run: @Sendable (Arguments) throws -> Int32
}
