import CLEXModel
import Foundation

/// `clex info FILE`: what a checkpoint holds (see `ModelInfo`).
enum InfoCommand {
    static let help = """
    usage: clex info FILE

      FILE   GGUF, safetensors (file or directory with config.json) or llama2.c .bin

    Prints the architecture, sizes, rope settings, tokenizer, tensor types and parameter count.
    """

    static func run(_ raw: [String]) throws -> Int32 {
        if raw.contains("--help") || raw.contains("-h") { print(help); return 0 }
        let args = try Arguments(raw, switches: [])
        try args.rejectUnknown()
        guard args.positional.count == 1 else { throw UsageError("info needs exactly one FILE") }
        for line in try ModelInfo.read(args.positional[0]).lines { print(line) }
        return 0
    }
}
