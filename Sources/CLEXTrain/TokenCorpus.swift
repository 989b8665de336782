import CLEXTokenizer
import Foundation

/// Errors in training data: files that cannot be read or parsed.
public struct DataError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Tokenized documents: one token stream with document boundaries, split by document into
/// training and validation parts. Built from text files, directories (every `.txt`, `.md` and
/// `.jsonl` file inside, sorted by path) or JSONL files (one document per line, in its `text`
/// field). Documents are concatenated with a separator token after each (EOS by default).
public struct TokenCorpus: Sendable {
    /// All tokens, documents back to back, each followed by the separator.
    public let tokens: [Int32]
    /// Start of each document in `tokens` (plus a final entry = tokens.count).
    public let documentStarts: [Int]
    /// Documents held out for validation (indices), chosen by a seeded shuffle.
    public let validationDocuments: Set<Int>

    /// Tokens of the training documents, in order.
    public var trainingTokens: [Int32] { tokens(of: (0..<(documentStarts.count - 1)).filter { !validationDocuments.contains($0) }) }
    /// Tokens of the validation documents, in order.
    public var validationTokens: [Int32] { tokens(of: validationDocuments.sorted()) }

    func tokens(of docs: [Int]) -> [Int32] {
        var out: [Int32] = []
        for d in docs { out += tokens[documentStarts[d]..<documentStarts[d + 1]] }
        return out
    }

    public init(tokens: [Int32], documentStarts: [Int], validationDocuments: Set<Int>) {
        self.tokens = tokens
        self.documentStarts = documentStarts
        self.validationDocuments = validationDocuments
    }

    /// Loads `paths`, tokenizing with `tokenizer` unless a cache file under `cacheDirectory`
    /// matches the sources (paths, sizes, modification times), tokenizer and separator.
    /// `validationFraction` of the documents (at least one when there are two or more) go to
    /// validation, picked by a shuffle seeded with `seed`.
    public static func load(paths: [String], tokenizer: any Tokenizer, separator: Int32?,
                            validationFraction: Double, seed: UInt64, cacheDirectory: String?) throws -> TokenCorpus {
        let files = try expand(paths)
        guard !files.isEmpty else { throw DataError("no text files found in \(paths)") }
        let key = try fingerprint(files: files, tokenizer: tokenizer, separator: separator)
        var stream: (tokens: [Int32], starts: [Int])
        if let dir = cacheDirectory, let cached = TokenCache.read(directory: dir, key: key) {
            stream = cached
        } else {
            stream = try tokenize(files: files, tokenizer: tokenizer, separator: separator)
            if let dir = cacheDirectory { try TokenCache.write(directory: dir, key: key, tokens: stream.tokens, starts: stream.starts) }
        }
        let documents = stream.starts.count - 1
        var order = Array(0..<documents)
        var rng = SeededShuffle(seed: seed)
        rng.shuffle(&order)
        let held = documents >= 2 ? max(validationFraction > 0 ? 1 : 0, Int((Double(documents) * validationFraction).rounded())) : 0
        return TokenCorpus(tokens: stream.tokens, documentStarts: stream.starts, validationDocuments: Set(order.prefix(min(held, documents - 1))))
    }

    /// Every file named by `paths`, directories expanded, sorted within each directory.
    static func expand(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else { throw DataError("\(path): no such file or directory") }
            if isDir.boolValue {
                guard let names = try? fm.subpathsOfDirectory(atPath: path) else { throw DataError("\(path): cannot list the directory") }
                files += names.filter { $0.hasSuffix(".txt") || $0.hasSuffix(".md") || $0.hasSuffix(".jsonl") }
                    .sorted().map { (path as NSString).appendingPathComponent($0) }
            } else {
                files.append(path)
            }
        }
        return files
    }

    static func tokenize(files: [String], tokenizer: any Tokenizer, separator: Int32?) throws -> (tokens: [Int32], starts: [Int]) {
        var tokens: [Int32] = []
        var starts: [Int] = []
        func add(_ text: String) {
            starts.append(tokens.count)
            tokens += tokenizer.encode(text, addSpecial: false, parseSpecial: false)
            if let separator { tokens.append(separator) }
        }
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { throw DataError("\(file): cannot read") }
            guard let text = String(data: data, encoding: .utf8) else { throw DataError("\(file): not valid UTF-8 text") }
            if file.hasSuffix(".jsonl") {
                for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                    guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                        throw DataError("\(file):\(n + 1): not a JSON object")
                    }
                    guard let t = object["text"] as? String else { throw DataError("\(file):\(n + 1): no string field 'text'") }
                    add(t)
                }
            } else {
                add(text)
            }
        }
        starts.append(tokens.count)
        return (tokens, starts)
    }

    /// FNV-1a over what determines the token stream.
    static func fingerprint(files: [String], tokenizer: any Tokenizer, separator: Int32?) throws -> UInt64 {
        var h = FNV1a()
        for file in files {
            let attributes = try? FileManager.default.attributesOfItem(atPath: file)
            h.add(file)
            h.add("\((attributes?[.size] as? NSNumber)?.int64Value ?? -1)")
            h.add("\((attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1)")
        }
        h.add("vocab \(tokenizer.vocabularySize) sep \(separator.map(String.init) ?? "none")")
        for id in stride(from: 0, to: tokenizer.vocabularySize, by: max(1, tokenizer.vocabularySize / 64)) {
            h.add(tokenizer.token(forID: Int32(id)) ?? "")
        }
        h.add(tokenizer.encode("Tokenizer fingerprint: 12345 héllo wörld!", addSpecial: false, parseSpecial: false).map(String.init).joined(separator: ","))
        return h.value
    }
}

/// 64-bit FNV-1a hash of strings (for cache keys; not cryptographic).
struct FNV1a {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ s: String) {
        for b in s.utf8 { value = (value ^ UInt64(b)) &* 0x100_0000_01b3 }
        value = (value ^ 0xff) &* 0x100_0000_01b3
    }
}
