import CLEXTensor
import Foundation
import Glibc

/// Writes a file so that readers see either the old file or the complete new one, never a part:
/// bytes go to a temporary file in the same directory, which is flushed to disk and then renamed
/// over `path` by `commit()`. A writer dropped without `commit()` removes its temporary file, and
/// so does an interrupted run (the file is in `TemporaryFiles` while it is written).
public final class AtomicFileWriter {
    /// The file written.
    public let path: String
    private let temporaryPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private static let bufferLimit = 1 << 20

    /// Creates the temporary file next to `path`.
    public init(path: String) throws(CheckpointError) {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        temporaryPath = "\(directory).\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard TemporaryFiles.register(temporaryPath) else {
            fd = -1
            throw .io(path: path, operation: "create temporary file \(temporaryPath)", reason: "the program is stopping")
        }
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw .io(path: path, operation: "create temporary file \(temporaryPath)", reason: MappedFile.errnoText())
        }
        buffer.reserveCapacity(Self.bufferLimit)
    }

    deinit {
        if fd >= 0 {
            close(fd)
            unlink(temporaryPath)
        }
        TemporaryFiles.unregister(temporaryPath)
    }

    /// Writes `data` to `path` atomically (see the type).
    public static func write(_ data: Data, to path: String) throws(CheckpointError) {
        let writer = try AtomicFileWriter(path: path)
        let bytes = [UInt8](data)
        try withBytes(of: bytes) { (raw) throws(CheckpointError) in try writer.write(raw) }
        try writer.commit()
    }

    /// Appends bytes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(CheckpointError) {
        if buffer.count + bytes.count > Self.bufferLimit { try flush() }
        if bytes.count >= Self.bufferLimit {
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    /// Flushes, syncs, closes and renames the temporary file over `path`.
    public func commit() throws(CheckpointError) {
        try flush()
        guard fsync(fd) == 0 else { throw .io(path: path, operation: "fsync", reason: MappedFile.errnoText()) }
        let closed = close(fd)
        fd = -1
        guard closed == 0 else {
            unlink(temporaryPath)
            TemporaryFiles.unregister(temporaryPath)
            throw .io(path: path, operation: "close", reason: MappedFile.errnoText())
        }
        guard rename(temporaryPath, path) == 0 else {
            let reason = MappedFile.errnoText()
            unlink(temporaryPath)
            TemporaryFiles.unregister(temporaryPath)
            throw .io(path: path, operation: "rename", reason: reason)
        }
        TemporaryFiles.unregister(temporaryPath)
    }

    private func flush() throws(CheckpointError) {
        if buffer.isEmpty { return }
        try withBytes(of: buffer) { (raw) throws(CheckpointError) in try writeAll(raw) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(CheckpointError) {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = Glibc.write(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "write", reason: MappedFile.errnoText())
            }
            p += n
            left -= n
        }
    }
}
