import CLEXTensor

/// A checkpoint seen as a named collection of Float32 tensors plus metadata, whatever its file
/// format (GGUF, safetensors, sharded safetensors, llama2.c). Model loaders read through this.
///
/// Shapes are row-major (outermost first), as in PyTorch: a linear layer's weight is
/// `[out, in]`. `weight(_:)` hands out a tensor's stored bytes in their element type where the
/// format keeps them as they are (GGUF, safetensors: used where they lie in the mapped file);
/// `tensor(_:)` converts (dequantises, widens) to fresh Float32 storage on each call.
public protocol CheckpointTensors: Sendable {
    /// The file (or index file) the checkpoint was opened from.
    var path: String { get }
    /// Every tensor name, in file order.
    var tensorNames: [String] { get }
    /// The format's metadata (GGUF key/values, safetensors `__metadata__`, llama2.c header fields).
    var metadata: CheckpointMetadata { get }
    /// The row-major shape of tensor `name`; throws `.missingTensor` when absent.
    func shape(of name: String) throws(CheckpointError) -> [Int]
    /// Tensor `name` converted to Float32; throws `.missingTensor` when absent and
    /// `.unsupportedTensorType` when its element type cannot be converted.
    func tensor(_ name: String) throws(CheckpointError) -> Tensor
    /// Tensor `name` as stored: its element type and bytes (kept alive by the weight), or a
    /// Float32 conversion for formats that do not keep elements as they are. Throws like `tensor`.
    func weight(_ name: String) throws(CheckpointError) -> Weight
}

extension CheckpointTensors {
    /// The Float32 conversion (`tensor(_:)`), for formats whose bytes cannot be used as they lie.
    public func weight(_ name: String) throws(CheckpointError) -> Weight { Weight(try tensor(name)) }

    /// Whether the checkpoint holds a tensor called `name`.
    public func contains(_ name: String) -> Bool { (try? shape(of: name)) != nil }
}

/// Opens checkpoints of any supported format.
public enum Checkpoint {
    /// Opens `path` by content and name: a file starting with `GGUF` or named `*.gguf` is read as
    /// GGUF; a name ending in `.index.json` as a sharded safetensors index; `.safetensors` as
    /// safetensors; anything else as a llama2.c `.bin` checkpoint. A directory is opened through its
    /// `model.safetensors.index.json`, else its `model.safetensors`.
    public static func open(_ path: String) throws(CheckpointError) -> any CheckpointTensors {
        if isDirectory(path) {
            let base = path.hasSuffix("/") ? path : path + "/"
            let index = base + ShardedSafetensors.indexFileName
            return isRegularFile(index) ? try ShardedSafetensors(indexPath: index)
                                        : try SafetensorsFile(path: base + "model.safetensors")
        }
        if path.hasSuffix(".index.json") { return try ShardedSafetensors(indexPath: path) }
        let file = try MappedFile(path: path)
        if path.hasSuffix(".gguf") || (file.count >= 4 && file.bytes.loadUnaligned(as: UInt32.self) == GGUFFile.magic) {
            return try GGUFFile(file: file)
        }
        if path.hasSuffix(".safetensors") { return try SafetensorsFile(file: file) }
        return try Llama2CCheckpoint(file: file)
    }
}
