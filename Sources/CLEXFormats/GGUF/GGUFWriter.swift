import CLEXTensor

/// Builds a GGUF file (version 3 by default): metadata of every type and tensors encoded as F32,
/// F16, BF16, Q8_0, Q4_0 or Q4_1, each tensor's data aligned to `alignment`.
///
/// Entries are written exactly in the order added and are not deduplicated, so tests can also
/// produce files that the reader must reject. When `alignment` is not 32, a
/// `general.alignment` uint32 entry is written first, unless one was added by hand (then the
/// caller keeps the two consistent). Tensors are views: their data is read when the file is
/// written, not when they are added.
public struct GGUFWriter {
    /// Alignment of the data section and of every tensor's data.
    public let alignment: Int
    /// Format version written in the header (2 and 3 have the same layout).
    public let version: UInt32
    /// Metadata, in the order written.
    public private(set) var metadata: [(key: String, value: MetadataValue)] = []
    private var tensors: [(name: String, tensor: Tensor, type: GGMLType)] = []

    /// A writer with the given alignment (a power of two from 1 to 2^30) and version (2 or 3).
    public init(alignment: Int = GGUFFile.defaultAlignment, version: UInt32 = 3) {
        precondition(alignment > 0 && alignment <= 1 << 30 && alignment & (alignment - 1) == 0,
                     "GGUFWriter: alignment \(alignment) must be a power of two up to 2^30")
        precondition(version == 2 || version == 3, "GGUFWriter: version \(version) must be 2 or 3")
        self.alignment = alignment
        self.version = version
    }

    /// Appends a metadata entry. Array elements must all have the array's element type.
    public mutating func addMetadata(_ key: String, _ value: MetadataValue) {
        precondition(Self.isConsistent(value), "GGUFWriter: metadata '\(key)': array elements must match the element type")
        metadata.append((key, value))
    }

    private static func isConsistent(_ value: MetadataValue) -> Bool {
        guard case .array(let type, let items) = value else { return true }
        return items.allSatisfy { $0.type == type && isConsistent($0) }
    }

    /// Appends a tensor stored as `type`; its row-major shape is written reversed (ggml `ne`
    /// order). For block types the last extent must be a multiple of the block size.
    public mutating func addTensor(_ name: String, _ tensor: Tensor, as type: GGMLType = .f32) {
        precondition(type.elementType != nil, "GGUFWriter: cannot write type \(type)")
        let inner = tensor.shape.last ?? 1
        precondition(inner % type.blockSize == 0,
                     "GGUFWriter: tensor '\(name)' of shape \(tensor.shape): last extent must be a multiple of \(type.blockSize) for \(type)")
        tensors.append((name, tensor, type))
    }

    /// The whole file in memory.
    public func serialized() -> [UInt8] {
        var sink = ByteBuffer()
        emit(into: &sink)
        return sink.bytes
    }

    /// Writes the file atomically (temporary file in the same directory, then rename).
    public func write(to path: String) throws(CheckpointError) {
        var sink = try AtomicFileWriter(path: path)
        try emit(into: &sink)
        try sink.commit()
    }

    private func header() -> ByteBuffer {
        var h = ByteBuffer()
        h.append(GGUFFile.magic)
        h.append(version)
        h.append(UInt64(tensors.count))
        var entries = metadata
        if alignment != GGUFFile.defaultAlignment && !metadata.contains(where: { $0.key == "general.alignment" }) {
            entries.insert(("general.alignment", .uint32(UInt32(alignment))), at: 0)
        }
        h.append(UInt64(entries.count))
        for (key, value) in entries {
            Self.appendString(key, to: &h)
            h.append(value.type.rawValue)
            Self.appendValue(value, to: &h)
        }
        var offset = 0
        for (name, tensor, type) in tensors {
            Self.appendString(name, to: &h)
            h.append(UInt32(tensor.rank))
            for extent in tensor.shape.reversed() { h.append(UInt64(extent)) }
            h.append(type.rawValue)
            h.append(UInt64(offset))
            offset += padded(type.byteCount(elements: tensor.count) ?? 0)
        }
        h.pad(toMultipleOf: alignment)
        return h
    }

    private func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    private func emit<S: ByteSink>(into sink: inout S) throws(S.Failure) {
        try sink.write(header().bytes)
        let chunk = 1 << 16
        var scratch = [UInt8](repeating: 0, count: 4 * chunk)
        let zeros = [UInt8](repeating: 0, count: alignment)
        for (_, tensor, type) in tensors {
            var start = 0
            while start < tensor.count {
                let n = min(chunk, tensor.count - start)
                let bytes = type.byteCount(elements: n) ?? 0
                scratch.withUnsafeMutableBytes { raw in
                    type.elementType!.quantize(tensor.pointer + start, count: n, into: raw.baseAddress!)
                }
                try sink.write(scratch, count: bytes)
                start += n
            }
            let size = type.byteCount(elements: tensor.count) ?? 0
            try sink.write(zeros, count: padded(size) - size)
        }
    }

    private static func appendString(_ s: String, to h: inout ByteBuffer) {
        h.append(UInt64(s.utf8.count))
        h.append(s.utf8)
    }

    private static func appendValue(_ value: MetadataValue, to h: inout ByteBuffer) {
        switch value {
        case .uint8(let v): h.append(v)
        case .int8(let v): h.append(v)
        case .uint16(let v): h.append(v)
        case .int16(let v): h.append(v)
        case .uint32(let v): h.append(v)
        case .int32(let v): h.append(v)
        case .uint64(let v): h.append(v)
        case .int64(let v): h.append(v)
        case .float32(let v): h.append(float32: v)
        case .float64(let v): h.append(float64: v)
        case .bool(let v): h.append(UInt8(v ? 1 : 0))
        case .string(let v): appendString(v, to: &h)
        case .array(let type, let items):
            h.append(type.rawValue)
            h.append(UInt64(items.count))
            for item in items { appendValue(item, to: &h) }
        }
    }
}
