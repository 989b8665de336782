import CLEXTensor

/// A checkpoint split over several safetensors files, read through its
/// `model.safetensors.index.json`: `{"metadata": {...}, "weight_map": {tensor name: shard file}}`.
///
/// Shard files are resolved relative to the index's directory and must be plain relative paths
/// (no `..`, not absolute). Every shard is opened and validated, and every `weight_map` entry must
/// name a tensor present in its shard.
public final class ShardedSafetensors: CheckpointTensors {
    /// The conventional index file name.
    public static let indexFileName = "model.safetensors.index.json"

    /// The index file.
    public let path: String
    /// The index's `metadata` object (strings, integers, floats and bools; other values are skipped).
    public let metadata: CheckpointMetadata
    /// Every tensor name, in `weight_map` order.
    public let tensorNames: [String]
    /// Shard file name (as written in the index) → opened shard.
    public let shards: [String: SafetensorsFile]
    private let shardOf: [String: String]

    /// Opens the index at `indexPath` and every shard it names.
    public convenience init(indexPath: String) throws(CheckpointError) {
        let slash = indexPath.lastIndex(of: "/")
        let directory = slash.map { String(indexPath[...$0]) } ?? ""
        try self.init(index: MappedFile(path: indexPath)) { (shard) throws(CheckpointError) in
            try SafetensorsFile(path: directory + shard)
        }
    }

    /// Reads an already mapped (or in-memory) index; `openShard` opens each shard file the
    /// `weight_map` names (as written there, already checked to be a plain relative path), once.
    public init(index file: MappedFile,
                openShard: (String) throws(CheckpointError) -> SafetensorsFile) throws(CheckpointError) {
        let indexPath = file.path
        path = indexPath
        let json: JSONValue
        do {
            json = try JSONParser.parse(file.bytes)
        } catch {
            throw .invalidJSON(path: indexPath, field: "index", offset: error.offset, reason: error.reason)
        }
        guard case .object(let top) = json else {
            throw .invalidValue(path: indexPath, field: "index", expected: "a JSON object", found: json.kind)
        }
        let lookup = { (key: String) in top.first { $0.key == key }?.value }
        guard case .object(let map)? = lookup("weight_map") else {
            throw .invalidValue(path: indexPath, field: "weight_map", expected: "an object of tensor name → file name",
                                found: lookup("weight_map")?.kind ?? "nothing")
        }
        var entries: [(key: String, value: MetadataValue)] = []
        if case .object(let members)? = lookup("metadata") {
            for (key, value) in members {
                switch value {
                case .string(let s): entries.append((key, .string(s)))
                case .integer(let n): entries.append((key, .int64(n)))
                case .number(let d): entries.append((key, .float64(d)))
                case .bool(let b): entries.append((key, .bool(b)))
                default: continue
                }
            }
        }
        metadata = try CheckpointMetadata(path: indexPath, entries: entries)
        var shards: [String: SafetensorsFile] = [:]
        var shardOf: [String: String] = [:]
        var names: [String] = []
        for (name, value) in map {
            guard case .string(let shard) = value else {
                throw .invalidValue(path: indexPath, field: "weight_map entry '\(name)'", expected: "a file name", found: value.kind)
            }
            let components = shard.split(separator: "/", omittingEmptySubsequences: false)
            guard !shard.isEmpty, !shard.hasPrefix("/"), !components.contains("..") else {
                throw .invalidValue(path: indexPath, field: "weight_map entry '\(name)'",
                                    expected: "a file name relative to the index's directory", found: JSONText.quoted(shard))
            }
            if shards[shard] == nil { shards[shard] = try openShard(shard) }
            guard let opened = shards[shard], (try? opened.info(name)) != nil else {
                throw .missingTensor(path: shards[shard]?.path ?? shard, name: name)
            }
            shardOf[name] = shard
            names.append(name)
        }
        self.shards = shards
        self.shardOf = shardOf
        tensorNames = names
    }

    /// The shard holding tensor `name`.
    public func shard(for name: String) throws(CheckpointError) -> SafetensorsFile {
        guard let file = shardOf[name], let shard = shards[file] else { throw .missingTensor(path: path, name: name) }
        return shard
    }

    /// The row-major shape of tensor `name`.
    public func shape(of name: String) throws(CheckpointError) -> [Int] { try shard(for: name).shape(of: name) }

    /// Tensor `name` converted to Float32.
    public func tensor(_ name: String) throws(CheckpointError) -> Tensor { try shard(for: name).tensor(name) }

    /// Tensor `name` as stored in its shard (no copy).
    public func weight(_ name: String) throws(CheckpointError) -> Weight { try shard(for: name).weight(name) }
}
