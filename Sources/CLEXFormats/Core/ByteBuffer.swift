/// Somewhere the writers put bytes: a growing in-memory buffer (which cannot fail) or an
/// `AtomicFileWriter`.
protocol ByteSink {
    /// What a write can throw (`Never` in memory).
    associatedtype Failure: Error
    /// Appends `bytes`.
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws(Failure)
}

extension ByteSink {
    /// Appends the first `count` bytes of `array` (all of them by default).
    mutating func write(_ array: [UInt8], count: Int? = nil) throws(Failure) {
        try withBytes(of: array) { (raw) throws(Failure) in
            try write(UnsafeRawBufferPointer(rebasing: raw[0..<(count ?? raw.count)]))
        }
    }
}

/// Calls `body` with the bytes of `array`, keeping `body`'s typed error (the standard library's
/// `withUnsafeBytes` only rethrows untyped errors).
func withBytes<E: Error, R>(of array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    try array.withUnsafeBytes { raw in Result { () throws(E) in try body(raw) } }.get()
}

extension AtomicFileWriter: ByteSink {}

/// A growing little-endian byte buffer, used to build headers and whole files in memory.
struct ByteBuffer: ByteSink {
    private(set) var bytes: [UInt8] = []

    var count: Int { bytes.count }

    mutating func write(_ raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(float32 value: Float) { append(value.bitPattern) }

    mutating func append(float64 value: Double) { append(value.bitPattern) }

    mutating func append(_ raw: some Sequence<UInt8>) { bytes.append(contentsOf: raw) }

    /// Appends `byte` until the count is a multiple of `alignment`.
    mutating func pad(toMultipleOf alignment: Int, with byte: UInt8 = 0) {
        let extra = (alignment - bytes.count % alignment) % alignment
        bytes.append(contentsOf: repeatElement(byte, count: extra))
    }
}
