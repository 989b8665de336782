import CLEXTensor

/// A GGUF checkpoint (llama.cpp's format, versions 2 and 3), memory-mapped and fully validated
/// when opened: header, metadata, tensor infos, alignment and every tensor's byte range.
///
/// Tensors of the types in CLEXTensor's `ElementType` table are handed out as stored
/// (`weight(_:)`: the mapped bytes, no copy) or converted to Float32 (`tensor(_:)`); the raw bytes
/// of any tensor stay available through `info(_:)` and `rawBytes(of:)`.
///
/// Layout note for loaders: llama.cpp's converter stores LLaMA `attn_q`/`attn_k` weights with
/// rows permuted for interleaved-pair RoPE (the Meta layout: rotated pairs are (2i, 2i+1) within
/// a head), not Hugging Face's rotate-half layout; names are GGUF's (`blk.N.attn_q.weight`).
public final class GGUFFile: CheckpointTensors {
    /// `"GGUF"` read as a little-endian `UInt32`.
    public static let magic: UInt32 = 0x4655_4747
    /// The alignment used when `general.alignment` is absent.
    public static let defaultAlignment = 32

    /// The mapped file (keep it to use `rawBytes` beyond this object's lifetime).
    public let file: MappedFile
    /// Format version (2 or 3).
    public let version: UInt32
    /// Every metadata key/value, in file order.
    public let metadata: CheckpointMetadata
    /// `general.alignment`, or 32.
    public let alignment: Int
    /// Absolute offset of the data section.
    public let dataOffset: Int
    /// Every tensor, in file order.
    public let tensorInfos: [GGUFTensorInfo]
    private let infoIndex: [String: Int]

    /// The file path.
    public var path: String { file.path }

    /// Every tensor name, in file order.
    public var tensorNames: [String] { tensorInfos.map(\.name) }

    /// Opens and validates the GGUF file at `path`.
    public convenience init(path: String) throws(CheckpointError) {
        try self.init(file: MappedFile(path: path))
    }

    /// Validates an already mapped GGUF file.
    public init(file: MappedFile) throws(CheckpointError) {
        self.file = file
        var parser = GGUFHeaderParser(file: file)
        version = try parser.readPreamble()
        let counts = try parser.readCounts()
        metadata = try parser.readMetadata(count: counts.keys)
        alignment = try Self.alignment(of: metadata)
        var infos: [(name: String, dimensions: [Int], type: GGMLType, offset: Int, bytes: Int)] = []
        infos.reserveCapacity(counts.tensors)
        var index: [String: Int] = [:]
        for i in 0..<counts.tensors {
            let info = try parser.readTensorInfo(index: i, alignment: alignment)
            guard index.updateValue(i, forKey: info.name) == nil else {
                throw .duplicate(path: file.path, field: "tensor '\(info.name)'")
            }
            infos.append(info)
        }
        let end = parser.cursor.position
        dataOffset = end + (alignment - end % alignment) % alignment
        var result: [GGUFTensorInfo] = []
        result.reserveCapacity(infos.count)
        for info in infos {
            let field = "tensor '\(info.name)' data (offset \(info.offset) in the data section at byte \(dataOffset))"
            let (start, o1) = dataOffset.addingReportingOverflow(info.offset)
            let (stop, o2) = start.addingReportingOverflow(info.bytes)
            guard !o1, !o2, stop <= file.count else {
                throw .outOfBounds(path: file.path, field: field, start: o1 ? Int.max : start,
                                   end: o1 || o2 ? Int.max : stop, limit: file.count)
            }
            result.append(GGUFTensorInfo(name: info.name, dimensions: info.dimensions, type: info.type,
                                         offset: info.offset, byteRange: start..<stop))
        }
        tensorInfos = result
        infoIndex = index
    }

    private static func alignment(of metadata: CheckpointMetadata) throws(CheckpointError) -> Int {
        guard let value = metadata["general.alignment"] else { return defaultAlignment }
        guard let a: Int = value.integer(), a > 0, a & (a - 1) == 0, a <= 1 << 30 else {
            throw .invalidValue(path: metadata.path, field: "metadata key 'general.alignment'",
                                expected: "a power of two (uint32)", found: "\(value.typeName) \(value)")
        }
        return a
    }

    /// The info of tensor `name`.
    public func info(_ name: String) throws(CheckpointError) -> GGUFTensorInfo {
        guard let i = infoIndex[name] else { throw .missingTensor(path: path, name: name) }
        return tensorInfos[i]
    }

    /// The raw encoded bytes of a tensor of this file; valid while `file` is alive.
    public func rawBytes(of info: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        precondition(info.byteRange.upperBound <= file.count, "rawBytes: \(info.name) is not a tensor of \(path)")
        return UnsafeRawBufferPointer(rebasing: file.bytes[info.byteRange])
    }

    /// The row-major shape of tensor `name`.
    public func shape(of name: String) throws(CheckpointError) -> [Int] { try info(name).shape }

    /// Tensor `name` dequantised to Float32, in row-major shape.
    public func tensor(_ name: String) throws(CheckpointError) -> Tensor { try weight(name).tensor }

    /// Tensor `name` as stored: its bytes in the mapped file, in row-major shape.
    public func weight(_ name: String) throws(CheckpointError) -> Weight {
        let info = try info(name)
        guard let type = info.type.elementType else {
            throw .unsupportedTensorType(path: path, tensor: name, type: info.type.description,
                                         supported: ElementType.allCases.map(\.description))
        }
        do throws(WeightError) {
            return try Weight(type: type, shape: info.shape, bytes: rawBytes(of: info), owner: file)
        } catch {
            throw .invalidValue(path: path, field: "tensor '\(name)'", expected: "whole blocks of its type",
                                found: error.description)
        }
    }
}
