/// A llama2.c `tokenizer.bin` (written by llama2.c's `tokenizer.py`, read by `build_tokenizer`
/// in run.c): an int32 `max_token_length`, then per token a float32 score, an int32 byte length
/// and that many bytes (not NUL-terminated, not necessarily UTF-8).
public struct Llama2CTokenizerFile: Sendable, Equatable {
    /// The longest token in bytes, as stored in the file.
    public let maxTokenLength: Int
    /// Each token's bytes, by token id.
    public let tokens: [[UInt8]]
    /// Each token's merge score, by token id.
    public let scores: [Float]

    /// Reads `path`. With `vocabSize` (the checkpoint's), exactly that many tokens must fill the
    /// file, as run.c reads them; without it, tokens are read until the end of the file. Every
    /// length must lie in `0...maxTokenLength` and within the file.
    public init(path: String, vocabSize: Int? = nil) throws(CheckpointError) {
        try self.init(file: MappedFile(path: path), vocabSize: vocabSize)
    }

    /// Reads an already mapped (or in-memory) `tokenizer.bin`, as `init(path:vocabSize:)`.
    public init(file: MappedFile, vocabSize: Int? = nil) throws(CheckpointError) {
        let path = file.path
        var cursor = BinaryCursor(bytes: file.bytes, path: path)
        let maxLength = Int(try cursor.read(Int32.self, "max_token_length"))
        guard maxLength >= 0 else {
            throw .invalidValue(path: path, field: "max_token_length", expected: "a non-negative integer", found: "\(maxLength)")
        }
        var tokens: [[UInt8]] = []
        var scores: [Float] = []
        if let vocabSize {
            // A token takes at least 8 bytes (score and length).
            let n = try cursor.boundedCount(UInt64(clamping: vocabSize), minimumElementSize: 8, "vocab size \(vocabSize)")
            tokens.reserveCapacity(n)
            scores.reserveCapacity(n)
        }
        var i = 0
        while vocabSize.map({ i < $0 }) ?? (cursor.remaining > 0) {
            scores.append(try cursor.readFloat32("token \(i) score"))
            let length = Int(try cursor.read(Int32.self, "token \(i) length"))
            guard (0...maxLength).contains(length) else {
                throw .invalidValue(path: path, field: "token \(i) length", expected: "0...\(maxLength) (max_token_length)",
                                    found: "\(length)")
            }
            tokens.append(Array(try cursor.readBytes(length, "token \(i) bytes")))
            i += 1
        }
        guard cursor.remaining == 0 else {
            throw .invalidValue(path: path, field: "file size", expected: "\(cursor.position) bytes for \(i) tokens",
                                found: "\(file.count) bytes")
        }
        maxTokenLength = maxLength
        self.tokens = tokens
        self.scores = scores
    }

    /// The file's bytes for the given tokens (the format `tokenizer.py` writes).
    public static func serialized(maxTokenLength: Int, tokens: [[UInt8]], scores: [Float]) -> [UInt8] {
        precondition(tokens.count == scores.count, "Llama2CTokenizerFile: \(tokens.count) tokens but \(scores.count) scores")
        var out = ByteBuffer()
        out.append(Int32(truncatingIfNeeded: maxTokenLength))
        for (token, score) in zip(tokens, scores) {
            out.append(float32: score)
            out.append(Int32(truncatingIfNeeded: token.count))
            out.append(token)
        }
        return out.bytes
    }
}
