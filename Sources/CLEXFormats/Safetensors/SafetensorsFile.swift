import CLEXTensor

/// Where one tensor of a safetensors file lives.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    /// The tensor's name.
    public let name: String
    /// Element type.
    public let dtype: SafetensorsDType
    /// Row-major shape.
    public let shape: [Int]
    /// `data_offsets` from the header: `[begin, end)` relative to the byte buffer after the header.
    public let dataOffsets: Range<Int>
    /// The same bytes as absolute offsets in the file.
    public let byteRange: Range<Int>
}

/// A safetensors checkpoint (Hugging Face's format), memory-mapped and validated when opened.
///
/// Layout: an 8-byte little-endian header length `N`, `N` bytes of JSON (`name → {dtype, shape,
/// data_offsets}` plus an optional `__metadata__` string map, possibly padded with spaces), then
/// the byte buffer. Checked on open: `N` fits the file, the JSON parses (duplicate keys are
/// errors), every dtype is known, every `data_offsets` lies inside the buffer and spans exactly
/// `shape.product × dtype size` bytes, and no two tensors overlap.
public final class SafetensorsFile: CheckpointTensors {
    /// The mapped file.
    public let file: MappedFile
    /// `N`, the JSON header's length in bytes.
    public let headerLength: Int
    /// Every tensor in header order.
    public let tensorInfos: [SafetensorsTensorInfo]
    /// The `__metadata__` entries (string values), in header order.
    public let metadata: CheckpointMetadata
    private let infoIndex: [String: Int]

    /// The file path.
    public var path: String { file.path }
    /// Absolute offset of the byte buffer (`8 + headerLength`).
    public var dataOffset: Int { 8 + headerLength }
    /// Every tensor name, in header order.
    public var tensorNames: [String] { tensorInfos.map(\.name) }

    /// Opens and validates the safetensors file at `path`.
    public convenience init(path: String) throws(CheckpointError) {
        try self.init(file: MappedFile(path: path))
    }

    /// Validates an already mapped safetensors file.
    public init(file: MappedFile) throws(CheckpointError) {
        self.file = file
        let path = file.path
        var cursor = BinaryCursor(bytes: file.bytes, path: path)
        let rawLength = try cursor.read(UInt64.self, "header length")
        headerLength = try cursor.boundedCount(rawLength, minimumElementSize: 1, "header length")
        let headerBytes = try cursor.readBytes(headerLength, "header")
        let json: JSONValue
        do {
            json = try JSONParser.parse(headerBytes)
        } catch {
            throw .invalidJSON(path: path, field: "header", offset: 8 + error.offset, reason: error.reason)
        }
        guard case .object(let members) = json else {
            throw .invalidValue(path: path, field: "header", expected: "a JSON object", found: json.kind)
        }
        let bufferSize = file.count - 8 - headerLength
        var infos: [SafetensorsTensorInfo] = []
        var metadataEntries: [(key: String, value: MetadataValue)] = []
        for (key, value) in members {
            if key == "__metadata__" {
                metadataEntries = try Self.metadataEntries(value, path: path)
            } else {
                infos.append(try Self.tensorInfo(key, value, bufferSize: bufferSize, dataOffset: 8 + headerLength, path: path))
            }
        }
        try Self.checkOverlap(infos, path: path)
        metadata = try CheckpointMetadata(path: path, entries: metadataEntries)
        tensorInfos = infos
        infoIndex = Dictionary(uniqueKeysWithValues: infos.enumerated().map { ($1.name, $0) })
    }

    private static func metadataEntries(_ value: JSONValue, path: String)
        throws(CheckpointError) -> [(key: String, value: MetadataValue)] {
        guard case .object(let members) = value else {
            throw .invalidValue(path: path, field: "header '__metadata__'", expected: "an object of strings", found: value.kind)
        }
        var entries: [(key: String, value: MetadataValue)] = []
        for (key, v) in members {
            guard case .string(let s) = v else {
                throw .invalidValue(path: path, field: "header '__metadata__' key '\(key)'", expected: "a string", found: v.kind)
            }
            entries.append((key, .string(s)))
        }
        return entries
    }

    private static func nonNegativeIntegers(_ value: JSONValue?, field: String, path: String) throws(CheckpointError) -> [Int] {
        guard case .array(let items)? = value else {
            throw .invalidValue(path: path, field: field, expected: "an array of non-negative integers",
                                found: value?.kind ?? "nothing")
        }
        var out: [Int] = []
        for item in items {
            guard case .integer(let n) = item, n >= 0 else {
                throw .invalidValue(path: path, field: field, expected: "an array of non-negative integers",
                                    found: "an array containing \(item.kind == "integer" ? "a negative integer" : item.kind)")
            }
            out.append(Int(n))
        }
        return out
    }

    private static func tensorInfo(_ name: String, _ value: JSONValue, bufferSize: Int, dataOffset: Int,
                                   path: String) throws(CheckpointError) -> SafetensorsTensorInfo {
        let field = "tensor '\(name)'"
        guard case .object(let members) = value else {
            throw .invalidValue(path: path, field: field, expected: "an object with dtype, shape, data_offsets", found: value.kind)
        }
        let lookup = { (key: String) in members.first { $0.key == key }?.value }
        guard case .string(let dtypeName)? = lookup("dtype") else {
            throw .invalidValue(path: path, field: "\(field) dtype", expected: "a string", found: lookup("dtype")?.kind ?? "nothing")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw .unknownTensorType(path: path, tensor: name, typeID: "\"\(dtypeName)\"")
        }
        let shape = try nonNegativeIntegers(lookup("shape"), field: "\(field) shape", path: path)
        let offsets = try nonNegativeIntegers(lookup("data_offsets"), field: "\(field) data_offsets", path: path)
        guard offsets.count == 2, offsets[0] <= offsets[1] else {
            throw .invalidValue(path: path, field: "\(field) data_offsets", expected: "[begin, end] with begin ≤ end",
                                found: "\(offsets)")
        }
        // The product of the non-zero extents must fit too, so that no order of multiplication
        // overflows for a shape like [0, 2^40, 2^40].
        var nonZeroProduct = 1
        for extent in shape {
            let (product, overflow) = nonZeroProduct.multipliedReportingOverflow(by: max(extent, 1))
            guard !overflow else {
                throw .overflow(path: path, field: "\(field) shape",
                                detail: "the product of \(shape) (zeros left out) exceeds \(Int.max)")
            }
            nonZeroProduct = product
        }
        let elements = shape.contains(0) ? 0 : nonZeroProduct
        guard let bytes = dtype.byteCount(elements: elements) else {
            throw .overflow(path: path, field: "\(field) shape",
                            detail: "\(elements) elements of \(dtype.rawValue) do not make a whole number of bytes below \(Int.max)")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard end <= bufferSize else {
            throw .outOfBounds(path: path, field: "\(field) data_offsets (relative to the data buffer at byte \(dataOffset))",
                               start: begin, end: end, limit: bufferSize)
        }
        guard end - begin == bytes else {
            throw .sizeMismatch(path: path, field: "\(field) data_offsets [\(begin), \(end)] for shape \(shape) \(dtype.rawValue)",
                                expectedBytes: bytes, foundBytes: end - begin)
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end,
                                     byteRange: (dataOffset + begin)..<(dataOffset + end))
    }

    private static func checkOverlap(_ infos: [SafetensorsTensorInfo], path: String) throws(CheckpointError) {
        let sorted = infos.filter { !$0.dataOffsets.isEmpty }.sorted { $0.dataOffsets.lowerBound < $1.dataOffsets.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.dataOffsets.lowerBound < a.dataOffsets.upperBound {
            throw .invalidValue(path: path, field: "tensor '\(b.name)' data_offsets",
                                expected: "no overlap with tensor '\(a.name)' at [\(a.dataOffsets.lowerBound), \(a.dataOffsets.upperBound)]",
                                found: "[\(b.dataOffsets.lowerBound), \(b.dataOffsets.upperBound)]")
        }
    }

    /// The info of tensor `name`.
    public func info(_ name: String) throws(CheckpointError) -> SafetensorsTensorInfo {
        guard let i = infoIndex[name] else { throw .missingTensor(path: path, name: name) }
        return tensorInfos[i]
    }

    /// The raw bytes of a tensor of this file; valid while `file` is alive.
    public func rawBytes(of info: SafetensorsTensorInfo) -> UnsafeRawBufferPointer {
        precondition(info.byteRange.upperBound <= file.count, "rawBytes: \(info.name) is not a tensor of \(path)")
        return UnsafeRawBufferPointer(rebasing: file.bytes[info.byteRange])
    }

    /// The row-major shape of tensor `name`.
    public func shape(of name: String) throws(CheckpointError) -> [Int] { try info(name).shape }

    /// Tensor `name` converted to Float32 (from F32, F16 or BF16).
    public func tensor(_ name: String) throws(CheckpointError) -> Tensor { try weight(name).tensor }

    /// Tensor `name` as stored (F32, F16 or BF16): its bytes in the mapped file, no copy.
    public func weight(_ name: String) throws(CheckpointError) -> Weight {
        let info = try info(name)
        guard let type = info.dtype.elementType else {
            throw .unsupportedTensorType(path: path, tensor: name, type: info.dtype.rawValue,
                                         supported: SafetensorsDType.convertibleTypes.map(\.rawValue))
        }
        do throws(WeightError) {
            return try Weight(type: type, shape: info.shape, bytes: rawBytes(of: info), owner: file)
        } catch {
            throw .invalidValue(path: path, field: "tensor '\(name)'", expected: "\(info.shape) of \(type)",
                                found: error.description)
        }
    }
}
