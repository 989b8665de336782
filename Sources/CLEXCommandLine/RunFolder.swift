import CLEXFormats
import Foundation

/// The `--out` folder of `clex train`: a run's folder holds `clex-run.json` (written when the run
/// starts) and only what the run writes. A new run goes into a folder that does not exist yet or
/// is empty; `--resume` into one of our runs. A folder holding anything else is refused, so the
/// run never appends to, replaces or rotates away a file it did not write.
enum RunFolder {
    /// The file that marks a folder as a clex run.
    static let markerName = "clex-run.json"

    /// Refuses `folder` unless it suits a new run (`resume` false) or continuing one.
    static func check(_ folder: String, resume: Bool) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: folder, isDirectory: &isDirectory) else {
            if resume { throw InputError("--resume: \(folder) does not exist, so there is no run to continue") }
            return
        }
        guard isDirectory.boolValue else { throw InputError("--out \(folder) is a file, not a folder") }
        let entries = try fm.contentsOfDirectory(atPath: folder)
        let ours = entries.contains(markerName) || entries.contains("latest")
        if resume {
            guard ours else { throw InputError("--resume: \(folder) is not a clex training run (no \(markerName))") }
            return
        }
        if entries.isEmpty { return }
        if ours {
            throw InputError("\(folder) already holds a run: add --resume to continue it, or choose another --out")
        }
        let shown = entries.sorted().prefix(3).joined(separator: ", ") + (entries.count > 3 ? ", …" : "")
        throw InputError("--out \(folder) is not empty (\(shown)) and is not a clex run; choose a new or empty folder "
                         + "(clex train never writes among files it did not create)")
    }

    /// Marks `folder` as a run (creating it when missing).
    static func claim(_ folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = (folder as NSString).appendingPathComponent(markerName)
        guard !FileManager.default.fileExists(atPath: path) else { return }
        try AtomicFileWriter.write(Data("{\"written_by\": \"clex train\"}\n".utf8), to: path)
    }
}
