import CLEXFormats
import CLEXModel
import CLEXTensor
import Foundation

/// `clex rope`: print a positional method's frequencies (and CLEX's θ(t)) so they can be
/// compared with another tool.
enum RopeCommand {
    static let help = """
    usage: clex rope --method M --dim D [--base B] [--context L] [method options]
                     [--checkpoint FILE] [--t T1,T2,…] [--lengths N1,N2,…] [--json]

      --method M        none|linear|ntk|dynamic|yarn|longrope|llama3|alibi|clex (same as --rope-scaling)
      --dim D           rotary dimension (even)
      --base B          RoPE base (default 10000)
      --context L       the model's original window L (default 2048)
      --heads H         heads, for ALiBi slopes (default 8)
      --checkpoint FILE CLEX: take U, D and inv_freq from this checkpoint (safetensors or GGUF)
      --t T1,T2,…       CLEX: length factors t whose θ(t) to print; other methods: contexts t·L
      --lengths N1,…    context lengths whose inference frequencies to print
      --json            machine-readable output
      method options    --rope-scale S, --yarn-orig-ctx N, --yarn-beta-fast X, --clex-max-factor T, … (see clex train --help)
    """

    static func run(_ raw: [String]) throws -> Int32 {
        if raw.contains("--help") || raw.contains("-h") { print(help); return 0 }
        var translated = raw
        if let i = translated.firstIndex(of: "--method") { translated[i] = "--rope-scaling" }
        func value(_ flag: String) -> String? { TrainCommand.value(translated, flag) }
        guard let dim = Int(value("--dim") ?? ""), dim >= 2, dim % 2 == 0 else { throw UsageError("rope needs --dim D (an even integer ≥ 2)") }
        guard let base = Double(value("--base") ?? "10000"), base.isFinite else { throw UsageError("--base expects a number") }
        guard let context = Int(value("--context") ?? "2048"), context >= 1 else { throw UsageError("--context expects a positive integer") }
        guard let heads = Int(value("--heads") ?? "8"), heads >= 1 else { throw UsageError("--heads expects a positive integer") }
        let model = LlamaConfiguration(vocabularySize: 1, hiddenSize: dim * heads, intermediateSize: 1, layerCount: 1,
                                       headCount: heads, headDimension: dim, ropeTheta: base, maxPositionEmbeddings: context)
        let (configuration, rest) = try PositionalConfiguration(model: model).applyingCommandLine(translated)
        var args = try Arguments(rest, switches: ["--json"])
        _ = args.string("--dim"); _ = args.string("--base"); _ = args.string("--context"); _ = args.string("--heads")
        let json = args.flag("--json")
        let factors = try list(args.string("--t"), "--t")
        let lengths = try list(args.string("--lengths"), "--lengths").map { Int($0) }
        var weights: [String: Tensor] = [:]
        if let path = args.string("--checkpoint") {
            let checkpoint = try Checkpoint.open(path)
            for name in CLEXCheckpointNames.all where checkpoint.contains(name) { weights[name] = try checkpoint.tensor(name) }
            guard !weights.isEmpty else { throw UsageError("\(path) holds no model.clex_layer.* tensors") }
        }
        try args.rejectUnknown()
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

    static func list(_ text: String?, _ flag: String) throws -> [Double] {
        guard let text else { return [] }
        return try text.split(separator: ",").map {
            guard let v = Double($0.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                throw UsageError("\(flag) expects comma-separated numbers, got '\($0)'")
            }
            return v
        }
    }
}
