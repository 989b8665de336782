import CLEXModel
import Foundation

/// `clex info FILE`: what a checkpoint holds (see `ModelInfo`), as text or JSON.
enum InfoCommand {
    static let spec = CommandSpec("info", usage: "usage: clex info FILE [--json]",
                                  options: [OptionSpec("--json", value: nil)], positional: 1)

    static let help = """
    \(spec.usage)

      FILE     GGUF, safetensors (file or directory with config.json) or llama2.c .bin
      --json   one JSON object (format, sizes, architecture, rope, tokenizer, tensor types)

    Prints the architecture, sizes, rope settings, tokenizer, tensor types and parameter count.
    """

    static let command = Command(spec: spec, help: help, run: run)

    static func run(_ args: Arguments) throws -> Int32 {
        guard let path = args.positional.first else { throw UsageError("info needs a FILE", command: spec.name) }
        guard FileManager.default.fileExists(atPath: path) else { throw InputError("\(path) does not exist") }
        let info = try ModelInfo.read(path)
        if args.flag("--json") {
            let data = try JSONSerialization.data(withJSONObject: json(info), options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for line in info.lines { print(line) }
        }
        return 0
    }

    /// `info` as a JSON object.
    static func json(_ info: ModelInfo) -> [String: Any] {
        let c = info.configuration
        var object: [String: Any] = [
            "path": info.path, "format": info.format, "file_bytes": info.fileBytes, "architecture": info.architecture,
            "layers": c.layerCount, "hidden_size": c.hiddenSize, "intermediate_size": c.intermediateSize,
            "heads": c.headCount, "key_value_heads": c.keyValueHeadCount, "head_dim": c.headDimension,
            "vocabulary_size": c.vocabularySize, "rms_norm_eps": Double(c.rmsNormEpsilon), "rope_theta": c.ropeTheta,
            "context_length": c.maxPositionEmbeddings, "tied_embeddings": c.tieWordEmbeddings,
            "rotary_layout": "\(c.rotaryLayout)", "parameters": info.parameterCount,
            "tensor_types": info.tensorTypes.map { ["type": $0.type, "count": $0.count, "elements": $0.elements] as [String: Any] },
            "rope_keys": Dictionary(info.ropeKeys.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }),
        ]
        if let name = info.name { object["name"] = name }
        if let t = info.tokenizer {
            var tokenizer: [String: Any] = ["type": t.type, "vocabulary_size": t.vocabularySize, "chat_template": t.hasChatTemplate]
            if let bos = t.bos { tokenizer["bos"] = bos }
            if let eos = t.eos { tokenizer["eos"] = eos }
            if let s = t.bosToken { tokenizer["bos_token"] = s }
            if let s = t.eosToken { tokenizer["eos_token"] = s }
            object["tokenizer"] = tokenizer
        }
        return object
    }
}
