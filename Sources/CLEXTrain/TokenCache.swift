import CLEXFormats
import Foundation

/// Tokenized corpora on disk, reused while their sources are unchanged: `<key>.tokens` holds a
/// header ("CLXTOK01", document count, token count, all little-endian Int64), the document
/// starts (Int64) and the tokens (Int32). Written atomically; read through a memory map; any
/// file that does not match its own header is ignored (and rebuilt).
enum TokenCache {
    static let magic = Array("CLXTOK01".utf8)

    static func path(_ directory: String, _ key: UInt64) -> String {
        (directory as NSString).appendingPathComponent(String(format: "%016llx.tokens", key))
    }

    static func read(directory: String, key: UInt64) -> (tokens: [Int32], starts: [Int])? {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path(directory, key)), options: .alwaysMapped),
              data.count >= 24, Array(data.prefix(8)) == magic else { return nil }
        return data.withUnsafeBytes { raw -> ([Int32], [Int])? in
            let docs = Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: Int64.self)))
            let count = Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: Int64.self)))
            guard docs >= 0, count >= 0, docs < 1 << 40, count < 1 << 40,
                  raw.count == 24 + 8 * (docs + 1) + 4 * count else { return nil }
            let starts = (0...docs).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 24 + 8 * $0, as: Int64.self))) }
            let base = 24 + 8 * (docs + 1)
            var tokens = [Int32](repeating: 0, count: count)
            tokens.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[base..<(base + 4 * count)])) }
            guard starts.first == 0, starts.last == count, zip(starts, starts.dropFirst()).allSatisfy({ $0 <= $1 }) else { return nil }
            return (tokens, starts)
        }
    }

    static func write(directory: String, key: UInt64, tokens: [Int32], starts: [Int]) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var data = Data(magic)
        func int64(_ v: Int) { withUnsafeBytes(of: Int64(v).littleEndian) { data.append(contentsOf: $0) } }
        int64(starts.count - 1)
        int64(tokens.count)
        for s in starts { int64(s) }
        tokens.withUnsafeBytes { data.append(contentsOf: $0) }
        try AtomicFileWriter.write(data, to: path(directory, key))
    }
}
