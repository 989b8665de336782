import CLEXFormats
import CLEXModel
import CLEXTensor
import Foundation

/// `clex rope`: print a positional method's frequencies (and CLEX's θ(t)) so they can be
/// compared with another tool.
enum RopeCommand {
    static let spec = CommandSpec("rope", usage: "usage: clex rope --method M --dim D [--base B] [--context L] [method options] [--t T,…] [--lengths N,…] [--json]",
                                  options: [
                                      OptionSpec("--dim", value: "D"), OptionSpec("--base", value: "B"),
                                      OptionSpec("--context", ["-c", "--ctx-size"], value: "L"), OptionSpec("--heads", value: "H"),
                                      OptionSpec("--checkpoint", value: "FILE"), OptionSpec("--t", value: "T1,T2,…"),
                                      OptionSpec("--lengths", value: "N1,N2,…"), OptionSpec("--json", value: nil),
                                  ] + CommandSpec.positionalOptions.map {
                                      $0.name == "--rope-scaling" ? OptionSpec($0.name, ["--method"], value: $0.value) : $0
                                  })

    static let help = """
    \(spec.usage)
                     [--checkpoint FILE]

      --method M        none|linear|ntk|dynamic|yarn|longrope|llama3|alibi|clex (same as --rope-scaling)
      --dim D           rotary dimension (even, 2 … 65536)
      --base B          RoPE base (default 10000)
      --context L       the model's original window L, 1 … 16777216 (default 2048)
      --heads H         heads, for ALiBi slopes, 1 … 4096 (default 8)
      --checkpoint FILE CLEX: take U, D and inv_freq from this checkpoint (safetensors or GGUF)
      --t T1,T2,…       CLEX: length factors t (1 … 1024) whose θ(t) to print; other methods: contexts t·L
      --lengths N1,…    context lengths (1 … 16777216) whose inference frequencies to print
      --json            machine-readable output
      method options    every positional flag of clex help train: --rope-scale S, --yarn-orig-ctx N, --clex-max-factor T, …
    """

    static let command = Command(spec: spec, help: help, run: run)

    static func run(_ args: Arguments) throws -> Int32 {
        guard args.given("--dim") else { throw UsageError("rope needs --dim D (an even integer ≥ 2)", command: spec.name) }
        let dim = try args.int("--dim", 0, in: 2...65536)
        guard dim % 2 == 0 else { throw UsageError("--dim expects an even integer, got \(dim)", command: spec.name) }
        let base = try args.double("--base", 10000, in: 1e-6...1e12)
        let context = try args.int("--context", 2048, in: 1...ModelRunOptions.tokenLimit)
        let heads = try args.int("--heads", 8, in: 1...4096)
        let model = LlamaConfiguration(vocabularySize: 1, hiddenSize: dim * heads, intermediateSize: 1, layerCount: 1,
                                       headCount: heads, headDimension: dim, ropeTheta: base, maxPositionEmbeddings: context)
        let (configuration, _) = try PositionalConfiguration(model: model).applyingCommandLine(args.positionalOverrides())
        let json = args.flag("--json")
        let factors = try args.numbers("--t", in: 1...1024) ?? []
        if let t = factors.first(where: { $0 * Double(context) > Double(ModelRunOptions.tokenLimit) }) {
            throw UsageError("--t \(t) × --context \(context) exceeds \(ModelRunOptions.tokenLimit) tokens", command: spec.name)
        }
        let lengths = try args.integers("--lengths", in: 1...ModelRunOptions.tokenLimit) ?? []
        var weights: [String: Tensor] = [:]
        if let path = args.string("--checkpoint") {
            let checkpoint = try Checkpoint.open(path)
            for name in CLEXCheckpointNames.all where checkpoint.contains(name) { weights[name] = try checkpoint.tensor(name) }
            guard !weights.isEmpty else { throw InputError("\(path) holds no model.clex_layer.* tensors") }
        }
        let table = try RopeTable(configuration: configuration, clexWeights: weights,
                                  contextLengths: lengths, lengthFactors: factors)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(table), as: UTF8.self))
        } else {
            print("method \(table.method), base \(table.base), rotary dim \(table.rotaryDimension), L = \(table.contextLength)")
            if let slopes = table.alibiSlopes { print("ALiBi slopes: " + slopes.map { String(format: "%.8g", $0) }.joined(separator: " ")) }
            for c in table.contexts {
                print("context \(c.contextLength)" + (c.lengthFactor.map { " (t = \($0))" } ?? "")
                      + String(format: ": attention factor %.9g, query scale %.9g", c.attentionFactor, c.queryScale))
                if let f = c.frequencies { print("  θ: " + f.map { String(format: "%.9e", $0) }.joined(separator: " ")) }
            }
            for c in table.clex ?? [] {
                print("CLEX θ(t = \(c.t)): " + c.frequencies.map { String(format: "%.9e", $0) }.joined(separator: " "))
            }
        }
        return 0
    }
}
