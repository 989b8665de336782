import Foundation

/// The `clex` command: one subcommand per user task; nothing numeric lives here.
enum CommandLineTool {
    static let usage = """
    usage: clex <command> [options]

    commands:
      generate --model FILE --prompt TEXT     continue a prompt (greedy or sampled)
      train --data PATHS --out DIR …          pretrain (--preset) or fine-tune (--model), any positional method
      rope --method M --dim D [--t …] [--json] frequencies of a positional method (CLEX: θ(t))
      chat --model FILE [--system TEXT]       interactive ChatML conversation on stdin/stdout
      info FILE                               architecture, sizes, rope, tokenizer and tensor types
      export --model FILE --out DIR           write any checkpoint as an HF directory (for PyTorch/HF tools)
      eval ppl|passkey --model FILE …         long-context perplexity curves and passkey retrieval
      demo [--quick]                          the paper's experiment at CPU scale on Shakespeare
      bench kernels [--quick] [--json FILE]   time every kernel beside raw sgemm and memory copy
      bench infer --model FILE [--json FILE]  prefill/decode tokens/s beside sgemm and memory copy
      bench train [--quick] [--json FILE]     training tokens/s and MFU, CLEX beside plain RoPE
      fuzz [TARGET|all] [--count N]           mutation fuzzing of every file parser (GGUF, safetensors, …)

    Run `clex <command> --help` for the options of a command.
    """

    /// Dispatches to a subcommand; returns the process exit status.
    static func run(_ args: [String]) -> Int32 {
        guard let command = args.first else {
            print(usage)
            return 2
        }
        do {
            switch command {
            case "bench": return try BenchCommand.run(Array(args.dropFirst()))
            case "generate": return try GenerateCommand.run(Array(args.dropFirst()))
            case "chat": return try ChatCommand.run(Array(args.dropFirst()))
            case "info": return try InfoCommand.run(Array(args.dropFirst()))
            case "eval": return try EvalCommand.run(Array(args.dropFirst()))
            case "demo": return try DemoCommand.run(Array(args.dropFirst()))
            case "train": return try TrainCommand.run(Array(args.dropFirst()))
            case "rope": return try RopeCommand.run(Array(args.dropFirst()))
            case "fuzz": return try FuzzCommand.run(Array(args.dropFirst()))
            case "export": return try ExportCommand.run(Array(args.dropFirst()))
            case "-h", "--help", "help":
                print(usage)
                return 0
            default:
                throw UsageError("unknown command '\(command)'")
            }
        } catch let error as UsageError {
            FileHandle.standardError.write("clex: \(error.message)\n\n\(usage)\n".data(using: .utf8)!)
            return 2
        } catch {
            FileHandle.standardError.write("clex: \(error)\n".data(using: .utf8)!)
            return 1
        }
    }
}

/// A command line the tool cannot interpret.
struct UsageError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
