import CLEXTokenizer
import Foundation

/// The token stream of the evaluation texts: each file is one document, tokenized without
/// special tokens; documents are concatenated in the order given, separated by the tokenizer's
/// EOS when it has one (as `clex train` joins documents). Windows may span a document boundary.
public struct EvaluationText: Sendable {
    /// The files read, in order.
    public var files: [String]
    /// Tokens of each document (without separators).
    public var documentTokens: [Int]
    /// The concatenated stream.
    public var tokens: [Int32]

    /// Reads and tokenizes `paths` (files, or directories whose `*.txt` files are read in name
    /// order). Throws `EvaluationError` for a missing or unreadable file or an empty list.
    public init(paths: [String], tokenizer: any Tokenizer) throws {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw EvaluationError("text file \(path) does not exist")
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                let texts = names.filter { $0.hasSuffix(".txt") }.sorted()
                guard !texts.isEmpty else { throw EvaluationError("directory \(path) holds no .txt file") }
                files += texts.map { (path as NSString).appendingPathComponent($0) }
            } else {
                files.append(path)
            }
        }
        guard !files.isEmpty else { throw EvaluationError("no text file given") }
        var stream: [Int32] = []
        var counts: [Int] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw EvaluationError("cannot read text file \(file)")
            }
            let ids = tokenizer.encode(String(decoding: data, as: UTF8.self), addSpecial: false)
            if !stream.isEmpty, let eos = tokenizer.eosID { stream.append(eos) }
            stream += ids
            counts.append(ids.count)
        }
        self.files = files
        documentTokens = counts
        tokens = stream
    }

    /// A stream given directly (one document).
    public init(tokens: [Int32], name: String = "tokens") {
        files = [name]
        documentTokens = [tokens.count]
        self.tokens = tokens
    }
}
