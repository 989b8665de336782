import Glibc

/// A whole file mapped read-only into memory (`mmap`), unmapped when the last reference goes;
/// or a file's bytes already in memory (`init(bytes:path:)`), which every reader accepts alike.
///
/// Pages are read from disk on first touch, so opening a multi-gigabyte checkpoint costs nothing
/// until tensors are read. The bytes must not change while mapped: a file truncated by another
/// process under a live mapping makes later reads fault, as with any memory-mapped reader.
public final class MappedFile: @unchecked Sendable {
    /// The path the file was opened with (used in every error about it).
    public let path: String
    /// The file's bytes; valid for the lifetime of this object.
    public let bytes: UnsafeRawBufferPointer
    /// Whether `bytes` is a heap copy (`init(bytes:path:)`) rather than a mapping.
    private let isCopy: Bool

    /// Maps the regular file at `path`; throws `.io` when it cannot be opened, is not a regular
    /// file, or cannot be mapped. An empty file maps to an empty buffer.
    public init(path: String) throws(CheckpointError) {
        self.path = path
        isCopy = false
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

    /// A copy of `bytes`, as if they were the contents of the file at `path` (named in errors;
    /// nothing is read from disk). Readers parse it exactly as a mapped file, which lets them be
    /// tested and fuzzed in memory. The copy is 64-byte aligned, like a mapping's start.
    public init(bytes: [UInt8], path: String) {
        self.path = path
        isCopy = true
        guard !bytes.isEmpty else {
            self.bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 64)
        copy.copyBytes(from: bytes)
        self.bytes = UnsafeRawBufferPointer(copy)
    }

    /// Size of the file in bytes.
    public var count: Int { bytes.count }

    deinit {
        guard let base = bytes.baseAddress else { return }
        if isCopy {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        } else {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
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
