import CLEXTensor

/// Builds a safetensors file byte-for-byte as the reference Python/Rust `safetensors` library
/// does: tensors ordered by dtype (the library's order, widest first) then by name, data
/// contiguous from offset 0 in that order, compact JSON header (`__metadata__` first, keys
/// sorted) padded with spaces to a multiple of 8 bytes. Writes are atomic.
public struct SafetensorsWriter {
    /// The `__metadata__` string map (omitted from the header when empty).
    public var metadata: [String: String]
    private var tensors: [(name: String, tensor: Tensor, dtype: SafetensorsDType)] = []

    /// A writer with the given `__metadata__`.
    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds a tensor stored as `dtype` (F32, F16 or BF16). Names must be unique and not
    /// `__metadata__`.
    public mutating func addTensor(_ name: String, _ tensor: Tensor, as dtype: SafetensorsDType = .f32) {
        precondition(SafetensorsDType.convertibleTypes.contains(dtype), "SafetensorsWriter: cannot write dtype \(dtype.rawValue)")
        precondition(name != "__metadata__" && !tensors.contains { $0.name == name },
                     "SafetensorsWriter: tensor name '\(name)' is reserved or already added")
        tensors.append((name, tensor, dtype))
    }

    /// Tensors in the order they are written.
    private var ordered: [(name: String, tensor: Tensor, dtype: SafetensorsDType)] {
        tensors.sorted { a, b in
            a.dtype.writeOrder != b.dtype.writeOrder ? a.dtype.writeOrder > b.dtype.writeOrder
                                                     : a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
    }

    /// The JSON header exactly as written, including the trailing space padding.
    public func header() -> String {
        var parts: [String] = []
        if !metadata.isEmpty {
            let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            let body = keys.map { "\(JSONText.quoted($0)):\(JSONText.quoted(metadata[$0] ?? ""))" }.joined(separator: ",")
            parts.append("\"__metadata__\":{\(body)}")
        }
        var offset = 0
        for (name, tensor, dtype) in ordered {
            let bytes = dtype.byteCount(elements: tensor.count) ?? 0
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            parts.append("\(JSONText.quoted(name)):{\"dtype\":\"\(dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        let json = "{" + parts.joined(separator: ",") + "}"
        return json + String(repeating: " ", count: (8 - json.utf8.count % 8) % 8)
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

    private func emit<S: ByteSink>(into sink: inout S) throws(S.Failure) {
        var head = ByteBuffer()
        let json = Array(header().utf8)
        head.append(UInt64(json.count))
        head.append(json)
        try sink.write(head.bytes)
        let chunk = 1 << 16
        var scratch = [UInt8](repeating: 0, count: 4 * chunk)
        for (_, tensor, dtype) in ordered {
            var start = 0
            while start < tensor.count {
                let n = min(chunk, tensor.count - start)
                scratch.withUnsafeMutableBytes { raw in
                    let src = tensor.pointer + start
                    switch dtype {
                    case .f16: HalfPrecision.f32ToF16(src, raw.baseAddress!, n)
                    case .bf16: HalfPrecision.f32ToBF16(src, raw.baseAddress!, n)
                    default: raw.baseAddress!.copyMemory(from: src, byteCount: 4 * n)
                    }
                }
                try sink.write(scratch, count: n * dtype.bits / 8)
                start += n
            }
        }
    }
}
