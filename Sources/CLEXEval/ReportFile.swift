import CLEXFormats
import Foundation

/// Writing report files so that a reader sees the old file or the complete new one, never a
/// part (`AtomicFileWriter`: a temporary file renamed over the target, removed if the run is interrupted).
public enum ReportFile {
    /// Writes `text` (UTF-8) to `path` atomically, creating the directory when missing.
    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    /// Writes `data` to `path` atomically, creating the directory when missing.
    public static func write(_ data: Data, to path: String) throws {
        try FileManager.default.createDirectory(atPath: FilePath.folder(of: path), withIntermediateDirectories: true)
        try AtomicFileWriter.write(data, to: path)
    }

    /// `value` as pretty-printed JSON with sorted keys; infinities and NaN (a perplexity that
    /// overflowed) are written as the strings "inf", "-inf", "nan".
    public static func json<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(value)
    }

    /// A decoder matching `json(_:)`.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    /// One CSV field: quoted (with doubled quotes) when it holds a comma, quote or line break.
    public static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
