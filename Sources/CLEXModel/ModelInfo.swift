import CLEXFormats
import CLEXTokenizer
import Foundation

/// What a checkpoint holds, read without converting its weights: format and size, the LLaMA
/// architecture, the rotary settings, the tokenizer, and the stored tensor types (`clex info`).
///
/// Reading checks what the loader checks before it reads any weight — the configuration, every
/// expected tensor's presence and shape, the tokenizer — and throws the loader's errors, so a file
/// that `info` accepts loads.
public struct ModelInfo: Sendable {
    /// Tensors stored with one element type.
    public struct TensorType: Sendable, Equatable {
        /// GGML type name for GGUF ("Q4_1", "F32"), dtype for safetensors ("BF16"), "F32" for llama2.c.
        public var type: String
        /// Number of tensors.
        public var count: Int
        /// Their elements together.
        public var elements: Int
    }

    /// The tokenizer the checkpoint carries.
    public struct TokenizerSummary: Sendable, Equatable {
        /// Where it comes from and its kind, e.g. "GGUF gpt2 (pre smollm)", "tokenizer.json".
        public var type: String
        public var vocabularySize: Int
        public var bos: Int32?
        public var eos: Int32?
        /// The token strings of `bos` and `eos`.
        public var bosToken: String?
        public var eosToken: String?
        /// Whether a chat template ships with it (GGUF `tokenizer.chat_template`,
        /// tokenizer_config.json `chat_template`).
        public var hasChatTemplate: Bool
    }

    /// The path as given.
    public var path: String
    /// "GGUF v3", "safetensors", "safetensors (2 shards)" or "llama2.c".
    public var format: String
    /// Bytes on disk (all shards).
    public var fileBytes: Int
    /// "llama" (GGUF `general.architecture`, HF `model_type`).
    public var architecture: String
    /// GGUF `general.name`, if present.
    public var name: String?
    public var configuration: LlamaConfiguration
    /// Elements of every stored tensor (a tied head counted once).
    public var parameterCount: Int
    /// Stored element types, most tensors first.
    public var tensorTypes: [TensorType]
    /// RoPE metadata besides θ and the context length: GGUF `<arch>.rope.*` keys, the HF
    /// `rope_scaling` object's fields; empty when none.
    public var ropeKeys: [(key: String, value: String)]
    public var tokenizer: TokenizerSummary?

    /// Reads `path` (GGUF, safetensors file or directory with config.json, llama2.c `.bin`).
    public static func read(_ path: String) throws -> ModelInfo {
        let checkpoint = try Checkpoint.open(path)
        var info: ModelInfo
        switch checkpoint {
        case let gguf as GGUFFile:
            let config = try LlamaConfiguration(gguf: gguf.metadata, tensorNames: Set(gguf.tensorNames))
            info = ModelInfo(path: path, format: "GGUF v\(gguf.version)", fileBytes: gguf.file.count,
                             architecture: try gguf.metadata.string("general.architecture"),
                             name: try? gguf.metadata.string("general.name"), configuration: config,
                             parameterCount: gguf.tensorInfos.reduce(0) { $0 + $1.elementCount },
                             tensorTypes: types(gguf.tensorInfos.map { ($0.type.description, $0.elementCount) }),
                             ropeKeys: ggufRopeKeys(gguf.metadata), tokenizer: nil)
            try ModelLoader.checkShapes(try FusedQKVView.wrapping(gguf, config), config, scheme: .gguf)
            if gguf.metadata.contains("tokenizer.ggml.model") {
                let tokenizer = try BPETokenizer(gguf: ModelLoader.ggufTokenizerMetadata(gguf.metadata))
                var kind = "GGUF " + (try gguf.metadata.string("tokenizer.ggml.model"))
                if let pre = try? gguf.metadata.string("tokenizer.ggml.pre") { kind += " (pre \(pre))" }
                info.tokenizer = summary(tokenizer, type: kind, chatTemplate: tokenizer.chatTemplate != nil)
            }
        case let llama2c as Llama2CCheckpoint:
            let c = llama2c.config
            let config = LlamaConfiguration(llama2c: c)
            try config.validate(source: path)
            // A shared classifier is listed as lm_head.weight but stored once, as the embedding.
            let stored = llama2c.tensorNames.filter { !(c.sharedClassifier && $0 == CheckpointNames.name(.outputHead, .huggingFace)) }
            let shapes = try stored.map { try llama2c.shape(of: $0).reduce(1, *) }
            info = ModelInfo(path: path, format: "llama2.c", fileBytes: llama2c.file.count, architecture: "llama",
                             name: nil, configuration: config, parameterCount: shapes.reduce(0, +),
                             tensorTypes: types(shapes.map { ("F32", $0) }), ropeKeys: [], tokenizer: nil)
            try ModelLoader.checkShapes(checkpoint, config, scheme: .huggingFace)
            let tokenizerPath = FilePath.folder(of: path) + "/tokenizer.bin"
            if FileManager.default.fileExists(atPath: tokenizerPath) {
                let file = try Llama2CTokenizerFile(path: tokenizerPath, vocabSize: c.vocabSize)
                let tokenizer = try BPETokenizer(gguf: ModelLoader.llama2cTokenizerMetadata(file))
                info.tokenizer = summary(tokenizer, type: "llama2.c tokenizer.bin (SentencePiece BPE)", chatTemplate: false)
            }
        default:
            let directory = ModelLoader.isDirectory(path) ? path : FilePath.folder(of: path)
            let configPath = (directory as NSString).appendingPathComponent("config.json")
            guard let data = FileManager.default.contents(atPath: configPath) else {
                throw ModelLoadError("\(path): a safetensors checkpoint needs its config.json beside it; \(configPath) is missing")
            }
            let config = try LlamaConfiguration(hfConfig: data, source: configPath)
            let files: [SafetensorsFile]
            let format: String
            if let sharded = checkpoint as? ShardedSafetensors {
                files = sharded.shards.keys.sorted().map { sharded.shards[$0]! }
                format = "safetensors (\(files.count) shards)"
            } else {
                files = [checkpoint as! SafetensorsFile]
                format = "safetensors"
            }
            let infos = files.flatMap(\.tensorInfos)
            let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            info = ModelInfo(path: path, format: format, fileBytes: files.reduce(0) { $0 + $1.file.count },
                             architecture: json?["model_type"] as? String ?? "llama", name: nil, configuration: config,
                             parameterCount: infos.reduce(0) { $0 + $1.shape.reduce(1, *) },
                             tensorTypes: types(infos.map { ($0.dtype.rawValue, $0.shape.reduce(1, *)) }),
                             ropeKeys: hfRopeKeys(config.ropeScalingJSON), tokenizer: nil)
            try ModelLoader.checkShapes(checkpoint, config, scheme: .huggingFace)
            let tokenizerPath = (directory as NSString).appendingPathComponent("tokenizer.json")
            if FileManager.default.fileExists(atPath: tokenizerPath) {
                let tokenizer = try BPETokenizer(tokenizerJSONAt: URL(fileURLWithPath: tokenizerPath))
                let settings = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent("tokenizer_config.json"))
                    .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
                info.tokenizer = summary(tokenizer, type: "tokenizer.json",
                                         chatTemplate: tokenizer.chatTemplate != nil || settings?["chat_template"] != nil)
            }
        }
        return info
    }

    /// The report `clex info` prints: one "label: value" line per fact.
    public var lines: [String] {
        let c = configuration
        let size = String(format: "%.1f MB", Double(fileBytes) / 1e6)
        let layout = c.rotaryLayout == .interleaved ? "interleaved" : "rotate_half"
        let rope: [String] = ropeKeys.map { "\($0.key)=\($0.value)" }
        var out: [String] = [
            "file: \(path)",
            "format: \(format), \(size) (\(fileBytes) bytes)",
            "architecture: \(architecture)\(name.map { " (\($0))" } ?? "")",
            "layers: \(c.layerCount)",
            "width: \(c.hiddenSize)",
            "heads: \(c.headCount) query, \(c.keyValueHeadCount) key/value, head dim \(c.headDimension)",
            "MLP: \(c.intermediateSize)",
            "vocabulary: \(c.vocabularySize)",
            "output head: \(c.tieWordEmbeddings ? "tied to the embedding" : "separate")",
            "RMSNorm epsilon: \(c.rmsNormEpsilon)",
            "rope: theta \(Self.number(c.ropeTheta)), context length \(c.maxPositionEmbeddings), layout \(layout)",
            "rope keys: \(rope.isEmpty ? "none" : rope.joined(separator: ", "))",
        ]
        if let t = tokenizer {
            func id(_ i: Int32?, _ s: String?) -> String { i.map { "\($0)" + (s.map { " \($0)" } ?? "") } ?? "none" }
            out.append("tokenizer: \(t.type), vocabulary \(t.vocabularySize), bos \(id(t.bos, t.bosToken)), "
                       + "eos \(id(t.eos, t.eosToken)), chat template \(t.hasChatTemplate ? "yes" : "no")")
        } else {
            out.append("tokenizer: none")
        }
        let types: [String] = tensorTypes.map { "\($0.type) ×\($0.count)" }
        let total: Int = tensorTypes.reduce(0) { $0 + $1.count }
        out.append("tensors: \(types.joined(separator: ", ")) (\(total) in all)")
        let millions = String(format: "%.1fM", Double(parameterCount) / 1e6)
        out.append("parameters: \(parameterCount) (\(millions))")
        return out
    }

    static func types(_ tensors: [(type: String, elements: Int)]) -> [TensorType] {
        var byType: [String: TensorType] = [:]
        for t in tensors {
            byType[t.type, default: TensorType(type: t.type, count: 0, elements: 0)].count += 1
            byType[t.type]!.elements += t.elements
        }
        return byType.values.sorted { ($0.count, $1.type) > ($1.count, $0.type) }
    }

    static func summary(_ t: BPETokenizer, type: String, chatTemplate: Bool) -> TokenizerSummary {
        TokenizerSummary(type: type, vocabularySize: t.vocabularySize, bos: t.bosID, eos: t.eosID,
                         bosToken: t.bosID.flatMap(t.token(forID:)), eosToken: t.eosID.flatMap(t.token(forID:)),
                         hasChatTemplate: chatTemplate)
    }

    static func ggufRopeKeys(_ metadata: CheckpointMetadata) -> [(key: String, value: String)] {
        let skip: Set<String> = ["llama.rope.freq_base"]
        return metadata.entries.filter { $0.key.contains(".rope.") && !skip.contains($0.key) }
            .map { ($0.key, plain(ModelLoader.plainValue($0.value))) }
    }

    static func hfRopeKeys(_ json: Data?) -> [(key: String, value: String)] {
        guard let json, let object = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] else { return [] }
        return object.keys.sorted().map { ("rope_scaling.\($0)", plain(object[$0]!)) }
    }

    static func plain(_ value: Any) -> String {
        switch value {
        case let d as Double: return number(d)
        case let items as [Any]: return "[" + items.map(plain).joined(separator: ", ") + "]"
        default: return "\(value)"
        }
    }

    /// A number without a needless ".0".
    static func number(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : "\(d)"
    }
}
