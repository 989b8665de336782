import CLEXFormats
import CLEXTokenizer
import Foundation

/// Marks a checkpoint directory as using `ByteTokenizer` (there is no tokenizer.json for it):
/// a `clex_tokenizer.json` file `{"type": "bytes"}` that `ModelLoader` reads.
public enum ByteTokenizerMarker {
    static let fileName = "clex_tokenizer.json"

    /// Writes the marker into `directory` (atomically).
    public static func write(into directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try AtomicFileWriter.write(Data("{\"type\": \"bytes\"}\n".utf8), to: (directory as NSString).appendingPathComponent(fileName))
    }

    /// Whether `directory` (or its parent, for checkpoints of a run) carries the marker.
    static func present(near directory: String) -> Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: (directory as NSString).appendingPathComponent(fileName))
            || fm.fileExists(atPath: (FilePath.folder(of: directory) as NSString).appendingPathComponent(fileName))
    }
}
