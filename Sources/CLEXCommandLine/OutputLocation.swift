import Foundation

/// Checks, before any compute, that an output can be written: the folder (or its nearest
/// existing parent, where it will be created) is a folder and accepts a new file. A problem is
/// an `InputError` naming the flag, the path and the reason.
enum OutputLocation {
    /// Checks that `directory` exists as a folder or can be created, and can take new files.
    static func requireWritable(directory: String, flag: String) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        var existing = directory.isEmpty ? "." : directory
        while !fm.fileExists(atPath: existing, isDirectory: &isDirectory) {
            existing = parent(of: existing)
        }
        guard isDirectory.boolValue else {
            throw InputError("\(flag) \(directory): \(existing) is a file, not a folder")
        }
        let probe = (existing as NSString).appendingPathComponent(".clex-write-check-\(getpid())")
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw InputError("\(flag) \(directory): cannot write in \(existing) (\(String(cString: strerror(errno))))")
        }
        close(fd)
        unlink(probe)
    }

    /// The folder above `path`, by its text ("." for a bare name, "/" at the root).
    static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    /// Checks that the file `path` can be written (its folder, as `requireWritable(directory:)`),
    /// and that it is not a folder.
    static func requireWritable(file path: String, flag: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw InputError("\(flag) \(path) is a folder; it needs a file name")
        }
        try requireWritable(directory: parent(of: path), flag: flag)
    }
}
