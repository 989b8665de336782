import CLEXFormats
import CLEXTensor
import CLEXTokenizer
import Foundation

/// A model read from disk, with its tokenizer when the checkpoint carries one.
public struct LoadedModel: Sendable {
    public var model: LlamaModel
    public var tokenizer: (any Tokenizer)?
    /// The checkpoint it came from.
    public var checkpoint: any CheckpointTensors
    /// The positional method the checkpoint declares (config.json `rope_scaling`/`log_scale`,
    /// GGUF `llama.rope.*`; plain RoPE for llama2.c).
    public var positional: PositionalConfiguration

    /// The positional method, after command-line overrides in llama.cpp's vocabulary
    /// (`--rope-scaling`, `--rope-freq-base`, `--clex-*`, …), with a CLEX checkpoint's learned
    /// tensors loaded when the method is CLEX. Returns the arguments it did not consume.
    public func positionalMethod(overrides: [String] = [], seed: UInt64 = 0) throws -> (method: any PositionalMethod, remaining: [String]) {
        let (configuration, remaining) = try positional.applyingCommandLine(overrides)
        let method = try configuration.makeMethod(seed: seed)
        if case .clex = configuration.scheme {
            for name in CLEXCheckpointNames.all where checkpoint.contains(name) {
                try method.setLearnedParameter(name, to: try checkpoint.tensor(name))
            }
        }
        return (method, remaining)
    }
}

/// Errors of the loader beyond those of the file formats.
public struct ModelLoadError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Loads LLaMA-family checkpoints: GGUF, HF safetensors (one file, a directory or a sharded
/// index, with `config.json` beside it) and llama2.c `.bin` files (with `tokenizer.bin` beside
/// them when present). Every tensor's shape is checked against the configuration before use.
public enum ModelLoader {
    /// Opens `path`; matrices stay as stored (mapped, read where they lie). Throws before reading
    /// weights that would not fit in the memory available.
    public static func load(_ path: String) throws -> LoadedModel {
        let checkpoint = try Checkpoint.open(path)
        switch checkpoint {
        case let gguf as GGUFFile:
            return try load(gguf: gguf)
        case let llama2c as Llama2CCheckpoint:
            let tokenizerPath = FilePath.folder(of: path) + "/tokenizer.bin"
            return try load(llama2c: llama2c) { () throws(CheckpointError) in
                FileManager.default.fileExists(atPath: tokenizerPath)
                    ? try Llama2CTokenizerFile(path: tokenizerPath, vocabSize: llama2c.config.vocabSize) : nil
            }
        default:
            let directory = isDirectory(path) ? path : FilePath.folder(of: path)
            let configPath = (directory as NSString).appendingPathComponent("config.json")
            guard let data = FileManager.default.contents(atPath: configPath) else {
                throw ModelLoadError("\(path): a safetensors checkpoint needs its config.json beside it; \(configPath) is missing")
            }
            let tokenizerPath = (directory as NSString).appendingPathComponent("tokenizer.json")
            return try load(huggingFace: checkpoint, config: data, configSource: configPath) {
                // The marker first: a byte model's export also carries a tokenizer.json for HF tools.
                ByteTokenizerMarker.present(near: directory) ? ByteTokenizer()
                    : FileManager.default.fileExists(atPath: tokenizerPath)
                        ? try BPETokenizer(tokenizerJSONAt: URL(fileURLWithPath: tokenizerPath)) : nil
            }
        }
    }

    /// A model from an opened (or in-memory) GGUF file: configuration, weights, tokenizer and
    /// positional method all from the file.
    public static func load(gguf: GGUFFile) throws -> LoadedModel {
        let config = try LlamaConfiguration(gguf: gguf.metadata, tensorNames: Set(gguf.tensorNames))
        let parameters = try readParameters(try FusedQKVView.wrapping(gguf, config), config, scheme: .gguf)
        let tokenizer = gguf.metadata.contains("tokenizer.ggml.model") ? try tokenizer(gguf: gguf.metadata) : nil
        let architecture = try gguf.metadata.string("general.architecture")
        var rope: [String: RopeMetadataValue] = [:]
        for (key, value) in gguf.metadata.entries where key.hasPrefix(architecture + ".rope.") {
            switch plainValue(value) {
            case let x as Int: rope[key] = .number(Double(x))
            case let x as Double: rope[key] = .number(x)
            case let x as String: rope[key] = .string(x)
            default: break
            }
        }
        let factors = gguf.tensorNames.contains("rope_freqs.weight")
            ? try gguf.tensor("rope_freqs.weight").scalars.map(Double.init) : nil
        let positional = try PositionalConfiguration(gguf: rope, architecture: architecture, model: config,
                                                     frequencyFactors: factors, source: gguf.path)
        return LoadedModel(model: LlamaModel(configuration: config, parameters: parameters),
                           tokenizer: tokenizer, checkpoint: gguf, positional: positional)
    }

    /// A model from an opened (or in-memory) llama2.c checkpoint; `tokenizer` reads its
    /// `tokenizer.bin` (nil: none), after the checkpoint's configuration has been checked.
    public static func load(llama2c: Llama2CCheckpoint,
                            tokenizer: () throws(CheckpointError) -> Llama2CTokenizerFile?) throws -> LoadedModel {
        let c = llama2c.config
        let config = LlamaConfiguration(llama2c: c)
        try config.validate(source: llama2c.path)
        let parameters = try readParameters(llama2c, config, scheme: .huggingFace)
        let tokenizer = try tokenizer().map { file in try Self.tokenizer(llama2c: file) }
        return LoadedModel(model: LlamaModel(configuration: config, parameters: parameters),
                           tokenizer: tokenizer, checkpoint: llama2c, positional: PositionalConfiguration(model: config))
    }

    /// A model from an opened (or in-memory) safetensors checkpoint and the bytes of its
    /// `config.json` (`configSource` names it in errors); `tokenizer` loads the tokenizer beside
    /// it (nil: none), after the weights have been checked and read.
    public static func load(huggingFace checkpoint: any CheckpointTensors, config data: Data, configSource: String,
                            tokenizer: () throws -> (any Tokenizer)?) throws -> LoadedModel {
        let config = try LlamaConfiguration(hfConfig: data, source: configSource)
        let parameters = try readParameters(checkpoint, config, scheme: .huggingFace)
        let tokenizer = try tokenizer()
        let positional = try PositionalConfiguration(hfConfig: data, model: config, source: configSource)
        return LoadedModel(model: LlamaModel(configuration: config, parameters: parameters),
                           tokenizer: tokenizer, checkpoint: checkpoint, positional: positional)
    }

    /// The tokenizer of a GGUF file's `tokenizer.*` metadata.
    public static func tokenizer(gguf metadata: CheckpointMetadata) throws -> BPETokenizer {
        try BPETokenizer(gguf: ggufTokenizerMetadata(metadata))
    }

    /// The SentencePiece tokenizer of a llama2.c `tokenizer.bin`.
    public static func tokenizer(llama2c file: Llama2CTokenizerFile) throws -> BPETokenizer {
        try BPETokenizer(gguf: llama2cTokenizerMetadata(file))
    }

    /// Reads every parameter, checking names and shapes against `config`: matrices as stored
    /// (their bytes in the mapped file where the format keeps them as they are), norms and
    /// biases as Float32. A slot that is part of a fused tensor (GPT-NeoX's q/k/v) is cut out of
    /// it.
    static func readParameters(_ checkpoint: any CheckpointTensors, _ config: LlamaConfiguration,
                               scheme: CheckpointNames.Scheme) throws -> LlamaParameters {
        try checkShapes(checkpoint, config, scheme: scheme)
        let architecture = config.architecture
        let parameters = try LlamaParameters(configuration: config) { slot in
            if let names = CheckpointNames.expertNames(slot, scheme, config) {
                return Weight.stackingRows(try names.map { try checkpoint.weight($0) })
            }
            let name = CheckpointNames.name(slot, scheme, architecture)
            guard let part = CheckpointNames.fusedPart(slot, scheme, architecture) else {
                switch CheckpointNames.role(slot) {
                case .norm, .bias: return Weight(try checkpoint.tensor(name))
                case .matrix: return try checkpoint.weight(name).asMatrix
                }
            }
            let rows = part.rows(heads: config.keyValueHeadCount, headRows: config.headDimension)
            switch CheckpointNames.role(slot) {
            case .matrix: return try checkpoint.weight(name).selectingRows(rows)
            case .norm, .bias:
                let whole = try checkpoint.tensor(name)
                return Weight(try Tensor(shape: [rows.count], values: rows.map { whole.pointer[$0] }))
            }
        }
        // Mapped matrices become resident as they are read: refuse a model that cannot stay in memory.
        try MemoryBudget.require(parameters.byteCount, for: "the weights of \(checkpoint.path)")
        return parameters
    }

    /// The stored shape of the tensor that holds `slot`: the slot's own, the fused tensor's, one
    /// expert's (HF Mixtral) or the 3-D [experts, out, in] of llama.cpp's `ffn_*_exps`.
    static func storedShape(_ slot: CheckpointNames.Slot, _ config: LlamaConfiguration, scheme: CheckpointNames.Scheme) -> [Int] {
        var shape = CheckpointNames.shape(slot, config)
        if let part = CheckpointNames.fusedPart(slot, scheme, config.architecture) { shape[0] *= part.count }
        if case .layer(_, let s) = slot, [.expertGate, .expertUp, .expertDown].contains(s) {
            let n = config.expertCount
            shape = scheme == .huggingFace ? [shape[0] / n, shape[1]] : [n, shape[0] / n, shape[1]]
        }
        return shape
    }

    /// Throws the loader's error for the first expected tensor that is missing or misshapen.
    /// A layer count beyond the checkpoint's tensor count is refused before the expected names
    /// are listed (a corrupt count of 2^24 layers would list 150 M names).
    static func checkShapes(_ checkpoint: any CheckpointTensors, _ config: LlamaConfiguration,
                            scheme: CheckpointNames.Scheme) throws {
        let stored = checkpoint.tensorNames.count
        guard config.layerCount <= stored else {
            throw ModelLoadError("\(checkpoint.path): the configuration's layer count \(config.layerCount) "
                + "(\(scheme == .gguf ? "\(config.architecture.ggufName).block_count" : "num_hidden_layers")) needs "
                + "\(CheckpointNames.layerSlots(config.architecture).count) tensors per layer, but the checkpoint holds \(stored) tensors")
        }
        for slot in CheckpointNames.slots(for: config) {
            let expected = storedShape(slot, config, scheme: scheme)
            for name in CheckpointNames.expertNames(slot, scheme, config) ?? [CheckpointNames.name(slot, scheme, config.architecture)] {
                guard checkpoint.contains(name) else {
                    throw ModelLoadError("\(checkpoint.path): tensor '\(name)' is missing (expected shape \(expected))")
                }
                let shape = try checkpoint.shape(of: name)
                guard shape == expected else {
                    throw ModelLoadError("\(checkpoint.path): tensor '\(name)' has shape \(shape), but the configuration needs \(expected)")
                }
            }
        }
    }

    /// The tokenizer keys of GGUF metadata as the plain values `GGUFTokenizerMetadata` reads.
    public static func ggufTokenizerMetadata(_ metadata: CheckpointMetadata) throws -> GGUFTokenizerMetadata {
        var plain: [String: Any] = [:]
        for (key, value) in metadata.entries where key.hasPrefix("tokenizer.") {
            plain[key] = plainValue(value)
        }
        return try GGUFTokenizerMetadata(metadata: plain)
    }

    static func plainValue(_ v: MetadataValue) -> Any {
        switch v {
        case .uint8(let x): return Int(x)
        case .int8(let x): return Int(x)
        case .uint16(let x): return Int(x)
        case .int16(let x): return Int(x)
        case .uint32(let x): return Int(x)
        case .int32(let x): return Int(x)
        case .uint64(let x): return Int(clamping: x)
        case .int64(let x): return Int(x)
        case .float32(let x): return Double(x)
        case .float64(let x): return x
        case .bool(let x): return x
        case .string(let x): return x
        case .array(_, let items): return items.map(plainValue)
        }
    }

    /// llama2.c's tokenizer.bin as SentencePiece-style metadata: its exporter wrote pieces with
    /// "▁" turned into spaces, so spaces become "▁" again; ids 0, 1, 2 are <unk>, <s>, </s> and
    /// `<0xNN>` pieces are byte-fallback tokens (karpathy/llama2.c tokenizer.py).
    static func llama2cTokenizerMetadata(_ file: Llama2CTokenizerFile) -> GGUFTokenizerMetadata {
        var types: [Int32] = []
        let tokens = file.tokens.enumerated().map { i, bytes -> String in
            let text = String(decoding: bytes, as: UTF8.self)
            let isByte = text.count == 6 && text.hasPrefix("<0x") && text.hasSuffix(">")
            types.append(i == 0 ? GGUFTokenType.unknown.rawValue
                         : i < 3 ? GGUFTokenType.control.rawValue
                         : isByte ? GGUFTokenType.byte.rawValue : GGUFTokenType.normal.rawValue)
            return isByte ? text : text.replacingOccurrences(of: " ", with: "\u{2581}")
        }
        return GGUFTokenizerMetadata(model: "llama", tokens: tokens, scores: file.scores, tokenTypes: types,
                                     bosID: 1, eosID: 2, unknownID: 0, addBOS: true)
    }

    static func isDirectory(_ path: String) -> Bool {
        var dir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &dir) && dir.boolValue
    }
}
