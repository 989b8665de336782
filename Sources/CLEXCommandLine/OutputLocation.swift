import CLEXFormats
import Foundation

/// Checks, before any compute, that an output can be written: the folder (or its nearest
/// existing parent, where it will be created) is a folder this process may write in
/// (`access(2)`: permissions and read-only file systems; nothing is created). A problem is an
/// `InputError` naming the flag, the path and the reason.
enum OutputLocation {
    /// Checks that `directory` exists as a folder or can be created, and can take new files.
    static func requireWritable(directory: String, flag: String) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        var existing = directory.isEmpty ? "." : directory
        while !fm.fileExists(atPath: existing, isDirectory: &isDirectory) {
            existing = FilePath.folder(of: existing)
        }
        guard isDirectory.boolValue else {
            throw InputError("\(flag) \(directory): \(existing) is a file, not a folder")
        }
        guard access(existing, W_OK | X_OK) == 0 else {
            throw InputError("\(flag) \(directory): cannot write in \(existing) (\(String(cString: strerror(errno))))")
        }
    }

    /// Checks that the file `path` can be written (its folder, as `requireWritable(directory:)`),
    /// and that it is not a folder.
    static func requireWritable(file path: String, flag: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw InputError("\(flag) \(path) is a folder; it needs a file name")
        }
        try requireWritable(directory: FilePath.folder(of: path), flag: flag)
    }
}
