import CLEXFormats
import CLEXTensor
import Foundation
import Testing

/// A fresh directory under the system temporary directory, removed by `cleanUp()`.
struct TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "clex-formats-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The path of `name` inside the directory.
    func file(_ name: String) -> String { path + "/" + name }

    /// Writes `bytes` to `name` and returns its path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let p = file(name)
        if let f = fopen(p, "wb") {
            _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
            fclose(f)
        }
        return p
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}

/// The file's bytes.
func readBytes(_ path: String) -> [UInt8] {
    (try? Data(contentsOf: URL(fileURLWithPath: path))).map { [UInt8]($0) } ?? []
}

/// Runs `body`, expecting a `CheckpointError` whose description contains every one of `fragments`;
/// returns the error for further checks.
@discardableResult
func expectCheckpointError(_ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation,
                           _ body: () throws -> Void) -> CheckpointError? {
    do {
        try body()
        Issue.record("expected an error containing \(fragments), but nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch {
        guard let error = error as? CheckpointError else {
            Issue.record("expected a CheckpointError, got \(error)", sourceLocation: sourceLocation)
            return nil
        }
        let text = error.description
        for f in fragments where !text.contains(f) {
            Issue.record("error \"\(text)\" does not contain \"\(f)\"", sourceLocation: sourceLocation)
        }
        return error
    }
}

/// A tensor with deterministic uniform entries in [low, high).
func uniformTensor(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    return Tensor.randomUniform(shape, low: low, high: high, generator: &rng)
}

/// Largest |a − b| over two equal-length arrays (infinity when lengths differ).
func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// Little-endian helpers for hand-built files.
extension Array where Element == UInt8 {
    mutating func appendLE<T: FixedWidthInteger>(_ v: T) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func appendFloat(_ v: Float) { appendLE(v.bitPattern) }

    /// Overwrites `T` at `offset`.
    mutating func setLE<T: FixedWidthInteger>(_ v: T, at offset: Int) {
        Swift.withUnsafeBytes(of: v.littleEndian) { for (i, b) in $0.enumerated() { self[offset + i] = b } }
    }

    /// Offset of the first occurrence of `needle`.
    func firstOffset(of needle: [UInt8]) -> Int? {
        guard needle.count <= count else { return nil }
        for i in 0...(count - needle.count) where Array(self[i..<(i + needle.count)]) == needle { return i }
        return nil
    }
}
