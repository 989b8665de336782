import Glibc

/// A whole file mapped read-only into memory (`mmap`), unmapped when the last reference goes.
///
/// Pages are read from disk on first touch, so opening a multi-gigabyte checkpoint costs nothing
/// until tensors are read. The bytes must not change while mapped: a file truncated by another
/// process under a live mapping makes later reads fault, as with any memory-mapped reader.
public final class MappedFile: @unchecked Sendable {
    /// The path the file was opened with (used in every error about it).
    public let path: String
    /// The file's bytes; valid for the lifetime of this object.
    public let bytes: UnsafeRawBufferPointer

    /// Maps the regular file at `path`; throws `.io` when it cannot be opened, is not a regular
    /// file, or cannot be mapped. An empty file maps to an empty buffer.
    public init(path: String) throws(CheckpointError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, operation: "open", reason: Self.errnoText()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(path: path, operation: "stat", reason: Self.errnoText()) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw .io(path: path, operation: "open", reason: "not a regular file")
        }
        let size = Int(info.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let base = mapped, base != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw .io(path: path, operation: "mmap", reason: Self.errnoText())
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    /// Size of the file in bytes.
    public var count: Int { bytes.count }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// Whether `path` names a directory (following symlinks).
func isDirectory(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
}

/// Whether `path` names a regular file (following symlinks).
func isRegularFile(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
}
