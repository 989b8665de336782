import CLEXModel
import Foundation

/// `clex info FILE`: what a checkpoint holds (see `ModelInfo`), as text or JSON.
enum InfoCommand {
    static let spec = CommandSpec("info", usage: "usage: clex info FILE [--context N] [--json]",
                                  options: [OptionSpec("--json", value: nil), OptionSpec("--context", ["-c"], value: "N")],
                                  positional: 1)

    static let help = """
    \(spec.usage)

      FILE     GGUF, safetensors (file or directory with config.json) or llama2.c .bin
      --json   one JSON object (format, sizes, architecture, rope, tokenizer, tensor types)
      -c, --context N  also the memory a context of N tokens (1 … 16777216) takes with each KV cache
               type, beside the weights and what this machine has available, and the largest
               context that fits with each

    Prints the architecture, sizes, rope settings, tokenizer, tensor types and parameter count.
    """

    static let command = Command(spec: spec, help: help, run: run)

    static func run(_ args: Arguments) throws -> Int32 {
        guard let path = args.positional.first else { throw UsageError("info needs a FILE", command: spec.name) }
        guard FileManager.default.fileExists(atPath: path) else { throw InputError("\(path) does not exist") }
        let context = try args.int("--context", in: 1...ModelRunOptions.tokenLimit)
        let info = try ModelInfo.read(path)
        let plans = context.map { n in KVCacheTypes.supported.map { ContextPlan(info, tokens: n, types: .init(key: $0, value: $0)) } }
        if args.flag("--json") {
            var object = json(info)
            if let plans { object["context"] = plans.map(\.json) }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for line in info.lines { print(line) }
            if let plans, let first = plans.first {
                print("context of \(first.tokens) tokens (weights \(MemoryBudget.gigabytes(info.fileBytes)) mapped from the file; "
                      + "\(first.available.map(MemoryBudget.gigabytes) ?? "unknown") available now):")
                for plan in plans { print("  " + plan.line) }
            }
        }
        return 0
    }

    /// The memory of one context with one pair of cache types, beside the weights.
    struct ContextPlan {
        let tokens: Int
        let types: KVCacheTypes
        let memory: ContextMemory
        let weightBytes: Int
        let available: Int?
        /// Why this model cannot use the types (nil: it can).
        let unusable: String?

        init(_ info: ModelInfo, tokens: Int, types: KVCacheTypes) {
            (self.tokens, self.types, weightBytes) = (tokens, types, info.fileBytes)
            do { try types.validate(for: info.configuration); unusable = nil } catch { unusable = "\(error)" }
            memory = ContextMemory(info.configuration, cacheTypes: types)
            available = MemoryBudget.availableBytes()
        }

        /// Weights, cache and working memory together.
        var total: Int { weightBytes + memory.bytes(tokens) }
        /// The largest context that fits beside the weights (nil: availability unknown).
        var largest: Int? { available.map { memory.largestContext(fitting: MemoryBudget.usable(of: $0) - weightBytes) } }

        var line: String {
            let name = types.key.rawValue.lowercased().padding(toLength: 5, withPad: " ", startingAt: 0)
            if let unusable { return name + " not available: " + unusable }
            let fits = largest.map { $0 >= tokens ? "fits" : "does not fit (largest \($0) tokens)" } ?? ""
            return name + " \(memory.cacheBytesPerToken) bytes/token: KV cache \(MemoryBudget.gigabytes(memory.cacheBytes(tokens))), "
                + "total \(MemoryBudget.gigabytes(total)) \(fits)"
        }

        var json: [String: Any] {
            var object: [String: Any] = [
                "tokens": tokens, "cache_type_k": types.key.rawValue.lowercased(), "cache_type_v": types.value.rawValue.lowercased(),
                "cache_bytes_per_token": memory.cacheBytesPerToken, "cache_bytes": memory.cacheBytes(tokens),
                "working_bytes": memory.bytes(tokens) - memory.cacheBytes(tokens), "weight_bytes": weightBytes, "total_bytes": total,
            ]
            if let available { object["available_bytes"] = available }
            if let unusable { object["unavailable"] = unusable }
            if let largest { object["largest_context"] = largest }
            return object
        }
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
