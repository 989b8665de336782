/// Reads the header of a GGUF file (v2 or v3, little-endian): magic, version, counts, metadata
/// key/values and tensor infos, following ggml's docs/gguf.md. Every count is bounded by the
/// bytes left before anything is allocated from it.
struct GGUFHeaderParser {
    /// Nested arrays deeper than this are rejected (real files nest at most twice).
    static let maximumArrayDepth = 16
    /// ggml's `GGML_MAX_DIMS`.
    static let maximumDimensions = 4

    var cursor: BinaryCursor
    var path: String { cursor.path }

    init(file: MappedFile) {
        cursor = BinaryCursor(bytes: file.bytes, path: file.path)
    }

    /// Magic and version; returns the version.
    mutating func readPreamble() throws(CheckpointError) -> UInt32 {
        let magic = try cursor.read(UInt32.self, "magic")
        guard magic == GGUFFile.magic else {
            let shown = withUnsafeBytes(of: magic.littleEndian) { raw in
                raw.map { (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : "\\x" + hex($0) }.joined()
            }
            throw .badMagic(path: path, expected: "\"GGUF\"", found: "\"\(shown)\"")
        }
        let version = try cursor.read(UInt32.self, "version")
        guard version == 2 || version == 3 else {
            var found = "\(version)"
            if version == 1 { found += " (GGUF v1, with 32-bit counts, is not read)" }
            if version > 0xFFFF && version.byteSwapped <= 3 { found += " (byte-swapped: a big-endian file?)" }
            throw .unsupportedVersion(path: path, found: found, supported: "2 or 3")
        }
        return version
    }

    /// The tensor and metadata counts, each bounded by the smallest encoding of one entry.
    mutating func readCounts() throws(CheckpointError) -> (tensors: Int, keys: Int) {
        let tensors = try cursor.read(UInt64.self, "tensor count")
        let keys = try cursor.read(UInt64.self, "metadata key/value count")
        // A key/value takes at least 8 (key length) + 4 (type) + 1 bytes; a tensor info
        // 8 (name length) + 4 (dimension count) + 4 (type) + 8 (offset).
        let k = try cursor.boundedCount(keys, minimumElementSize: 13, "metadata key/value count")
        let t = try cursor.boundedCount(tensors, minimumElementSize: 24, "tensor count")
        return (t, k)
    }

    mutating func readString(_ field: () -> String) throws(CheckpointError) -> String {
        let length = try cursor.readLength("\(field()) length")
        return try cursor.readUTF8(length, field())
    }

    mutating func readMetadata(count: Int) throws(CheckpointError) -> CheckpointMetadata {
        var entries: [(key: String, value: MetadataValue)] = []
        entries.reserveCapacity(count)
        for i in 0..<count {
            let key = try readString { "metadata key #\(i) name" }
            let field = { "metadata key '\(key)'" }
            let type = try readType { "\(field()) value type" }
            entries.append((key, try readValue(type, depth: 0, field)))
        }
        return try CheckpointMetadata(path: path, entries: entries)
    }

    private mutating func readType(_ field: () -> String) throws(CheckpointError) -> MetadataValueType {
        let raw = try cursor.read(UInt32.self, field())
        guard let type = MetadataValueType(rawValue: raw) else {
            throw .invalidValue(path: path, field: field(), expected: "a value type id 0...12", found: "\(raw)")
        }
        return type
    }

    private mutating func readValue(_ type: MetadataValueType, depth: Int,
                                    _ field: () -> String) throws(CheckpointError) -> MetadataValue {
        switch type {
        case .uint8: return .uint8(try cursor.read(UInt8.self, field()))
        case .int8: return .int8(try cursor.read(Int8.self, field()))
        case .uint16: return .uint16(try cursor.read(UInt16.self, field()))
        case .int16: return .int16(try cursor.read(Int16.self, field()))
        case .uint32: return .uint32(try cursor.read(UInt32.self, field()))
        case .int32: return .int32(try cursor.read(Int32.self, field()))
        case .uint64: return .uint64(try cursor.read(UInt64.self, field()))
        case .int64: return .int64(try cursor.read(Int64.self, field()))
        case .float32: return .float32(try cursor.readFloat32(field()))
        case .float64: return .float64(try cursor.readFloat64(field()))
        case .bool:
            let b = try cursor.read(UInt8.self, field())
            guard b <= 1 else { throw .invalidValue(path: path, field: field(), expected: "bool 0 or 1", found: "\(b)") }
            return .bool(b == 1)
        case .string:
            return .string(try readString(field))
        case .array:
            guard depth < Self.maximumArrayDepth else {
                throw .invalidValue(path: path, field: field(), expected: "arrays nested at most \(Self.maximumArrayDepth) deep",
                                    found: "deeper nesting")
            }
            let elementType = try readType { "\(field()) array element type" }
            let rawCount = try cursor.read(UInt64.self, "\(field()) array length")
            // Smallest encodings: a string is its 8-byte length, an array its type and length.
            let minimum = elementType.fixedSize ?? (elementType == .string ? 8 : 12)
            let count = try cursor.boundedCount(rawCount, minimumElementSize: minimum, "\(field()) array length")
            var items: [MetadataValue] = []
            items.reserveCapacity(count)
            for j in 0..<count {
                items.append(try readValue(elementType, depth: depth + 1) { "\(field()) element \(j)" })
            }
            return .array(elementType: elementType, items)
        }
    }

    /// One tensor info, validated on its own (dimension count, overflow, type, block multiple,
    /// alignment); its data range is checked by the caller once the data section is known.
    mutating func readTensorInfo(index: Int, alignment: Int)
        throws(CheckpointError) -> (name: String, dimensions: [Int], type: GGMLType, offset: Int, bytes: Int) {
        let name = try readString { "tensor info #\(index) name" }
        let field = "tensor '\(name)'"
        let rank = try cursor.read(UInt32.self, "\(field) dimension count")
        guard rank <= Self.maximumDimensions else {
            throw .invalidValue(path: path, field: "\(field) dimension count",
                                expected: "at most \(Self.maximumDimensions)", found: "\(rank)")
        }
        var dimensions: [Int] = []
        // The product of the non-zero extents must fit too: a shape like [0, 2^40, 2^40] holds no
        // element, but a product taken in another order (the row-major shape is reversed) overflows.
        var nonZeroProduct = 1
        for d in 0..<Int(rank) {
            let raw = try cursor.read(UInt64.self, "\(field) dimension \(d)")
            guard let extent = Int(exactly: raw) else {
                throw .overflow(path: path, field: "\(field) dimension \(d)", detail: "extent \(raw) exceeds \(Int.max)")
            }
            dimensions.append(extent)
            let (product, overflow) = nonZeroProduct.multipliedReportingOverflow(by: max(extent, 1))
            guard !overflow else {
                throw .overflow(path: path, field: "\(field) dimensions",
                                detail: "the product of \(dimensions) (zeros left out) exceeds \(Int.max)")
            }
            nonZeroProduct = product
        }
        let elements = dimensions.contains(0) ? 0 : nonZeroProduct
        let typeID = try cursor.read(UInt32.self, "\(field) type")
        guard let type = GGMLType(rawValue: typeID) else {
            throw .unknownTensorType(path: path, tensor: name, typeID: "\(typeID)")
        }
        let inner = dimensions.first ?? 1
        guard inner % type.blockSize == 0 else {
            throw .invalidValue(path: path, field: "\(field) dimension 0",
                                expected: "a multiple of \(type)'s block size \(type.blockSize)", found: "\(inner)")
        }
        guard let bytes = type.byteCount(elements: elements) else {
            throw .overflow(path: path, field: "\(field) byte size",
                            detail: "\(elements) elements of \(type) exceed \(Int.max) bytes")
        }
        let rawOffset = try cursor.read(UInt64.self, "\(field) offset")
        guard let offset = Int(exactly: rawOffset), offset <= cursor.bytes.count else {
            throw .invalidValue(path: path, field: "\(field) offset",
                                expected: "an offset inside the file (at most \(cursor.bytes.count))", found: "\(rawOffset)")
        }
        guard offset % alignment == 0 else {
            throw .misaligned(path: path, field: "\(field) offset", offset: offset, alignment: alignment)
        }
        return (name, dimensions, type, offset, bytes)
    }
}

/// Two lowercase hex digits.
func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
}
