import Foundation

/// The run's machine-readable log: one JSON object per step in `<output>/log.jsonl`.
enum TrainingLog {
    static func append(_ event: TrainingEvent, to output: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(event)
        line.append(0x0A)
        let path = (output as NSString).appendingPathComponent("log.jsonl")
        if !FileManager.default.fileExists(atPath: path) {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw DataError("\(path): cannot open for appending") }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    }
}
