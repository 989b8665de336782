import Foundation

/// Writes one line to standard output immediately (progress must show up even when stdout is
/// a file or a pipe, where `print` buffers).
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
