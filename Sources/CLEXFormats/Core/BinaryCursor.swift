/// A read position in a byte buffer (usually a `MappedFile`) that checks every read.
///
/// Each read names the field it reads; when fewer bytes remain than the field needs, it throws
/// `CheckpointError.truncated` with the file path, the field, the offset and both byte counts.
/// Counts and lengths that come from the file go through `boundedCount` / `readLength` before
/// anything is allocated from them, so a corrupt count is an error and never a huge allocation.
/// Values are little-endian. Field names are autoclosures: they are only built when a read fails.
public struct BinaryCursor {
    /// The whole buffer (positions are offsets into it).
    public let bytes: UnsafeRawBufferPointer
    /// The file the bytes came from, for error messages.
    public let path: String
    /// Offset of the next byte to read.
    public private(set) var position: Int

    /// A cursor at `position` (default 0) in `bytes`.
    public init(bytes: UnsafeRawBufferPointer, path: String, position: Int = 0) {
        precondition(position >= 0 && position <= bytes.count,
                     "BinaryCursor: position \(position) outside a buffer of \(bytes.count) bytes")
        self.bytes = bytes
        self.path = path
        self.position = position
    }

    /// Bytes left after `position`.
    public var remaining: Int { bytes.count - position }

    /// Throws `.truncated` unless `count` more bytes are available.
    public func require(_ count: Int, _ field: @autoclosure () -> String) throws(CheckpointError) {
        guard count >= 0, count <= remaining else {
            throw .truncated(path: path, field: field(), offset: position, needed: count, available: remaining)
        }
    }

    /// Reads a little-endian integer.
    public mutating func read<T: FixedWidthInteger>(_ type: T.Type,
                                                    _ field: @autoclosure () -> String) throws(CheckpointError) -> T {
        let size = MemoryLayout<T>.size
        try require(size, field())
        let value = bytes.loadUnaligned(fromByteOffset: position, as: T.self)
        position += size
        return T(littleEndian: value)
    }

    /// Reads a little-endian IEEE 754 single.
    public mutating func readFloat32(_ field: @autoclosure () -> String) throws(CheckpointError) -> Float {
        Float(bitPattern: try read(UInt32.self, field()))
    }

    /// Reads a little-endian IEEE 754 double.
    public mutating func readFloat64(_ field: @autoclosure () -> String) throws(CheckpointError) -> Double {
        Double(bitPattern: try read(UInt64.self, field()))
    }

    /// The next `count` bytes, without copying (valid while `bytes` is).
    public mutating func readBytes(_ count: Int,
                                   _ field: @autoclosure () -> String) throws(CheckpointError) -> UnsafeRawBufferPointer {
        try require(count, field())
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
        position += count
        return slice
    }

    /// Reads `count` bytes as UTF-8 text; throws `.invalidUTF8` when they are not.
    public mutating func readUTF8(_ count: Int, _ field: @autoclosure () -> String) throws(CheckpointError) -> String {
        let start = position
        let raw = try readBytes(count, field())
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw .invalidUTF8(path: path, field: field(), offset: start)
        }
        return text
    }

    /// Moves the position forward by `count` bytes.
    public mutating func skip(_ count: Int, _ field: @autoclosure () -> String) throws(CheckpointError) {
        try require(count, field())
        position += count
    }

    /// Moves to an absolute offset inside the buffer (`0...bytes.count`).
    public mutating func seek(to offset: Int, _ field: @autoclosure () -> String) throws(CheckpointError) {
        guard offset >= 0, offset <= bytes.count else {
            throw .outOfBounds(path: path, field: field(), start: offset, end: offset, limit: bytes.count)
        }
        position = offset
    }

    /// Converts a count read from the file to `Int`, checking that `count` elements of at least
    /// `minimumElementSize` bytes each can still fit in the bytes left. Call it before allocating.
    public func boundedCount(_ count: UInt64, minimumElementSize: Int,
                             _ field: @autoclosure () -> String) throws(CheckpointError) -> Int {
        let limit = minimumElementSize > 0 ? remaining / minimumElementSize : Int.max
        guard count <= UInt64(limit) else {
            throw .invalidValue(path: path, field: field(),
                                expected: "at most \(limit) (\(remaining) bytes left in the file)",
                                found: "\(count)")
        }
        return Int(count)
    }

    /// Reads a little-endian `UInt64` byte length and checks it against the bytes left.
    public mutating func readLength(_ field: @autoclosure () -> String) throws(CheckpointError) -> Int {
        let raw = try read(UInt64.self, field())
        return try boundedCount(raw, minimumElementSize: 1, field())
    }
}
