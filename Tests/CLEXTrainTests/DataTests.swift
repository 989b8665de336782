import CLEXTensor
import CLEXTokenizer
import CLEXTrain
import Foundation
import Testing

/// A tokenizer of single bytes (ids 0…255, EOS 256) so data tests need no vocabulary file.
struct ByteTestTokenizer: Tokenizer {
    var vocabularySize: Int { 257 }
    var bosID: Int32? { nil }
    var eosID: Int32? { 256 }
    var unknownID: Int32? { nil }
    var paddingID: Int32? { nil }
    var chatTemplate: String? { nil }
    func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] { text.utf8.map { Int32($0) } }
    func decodeBytes(_ ids: [Int32], skipSpecial: Bool) -> [UInt8] { ids.filter { $0 < 256 }.map { UInt8($0) } }
    func token(forID id: Int32) -> String? { id < 256 ? String(UnicodeScalar(UInt8(id))) : "</s>" }
    func id(forToken token: String) -> Int32? { token.utf8.count == 1 ? Int32(token.utf8.first!) : nil }
    func isSpecial(_ id: Int32) -> Bool { id == 256 }
}

@Suite("training data") struct DataTests {
    func corpusDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "clex-data-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        try "alpha beta".write(toFile: dir + "/a.txt", atomically: true, encoding: .utf8)
        try "gamma".write(toFile: dir + "/sub/b.txt", atomically: true, encoding: .utf8)
        try "{\"text\": \"delta\"}\n{\"text\": \"eps\"}\n".write(toFile: dir + "/c.jsonl", atomically: true, encoding: .utf8)
        try "ignored".write(toFile: dir + "/d.bin", atomically: true, encoding: .utf8)
        return dir
    }

    @Test("files, directories and JSONL become documents with separators; the cache is reused")
    func corpus() throws {
        let dir = try corpusDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cache = dir + "/.cache"
        let c = try TokenCorpus.load(paths: [dir], tokenizer: ByteTestTokenizer(), separator: 256,
                                     validationFraction: 0.25, seed: 1, cacheDirectory: cache)
        #expect(c.documentStarts.count == 5)   // a.txt, c.jsonl ×2, sub/b.txt, + end
        let text = String(decoding: c.tokens.map { $0 == 256 ? UInt8(ascii: "|") : UInt8($0) }, as: UTF8.self)
        #expect(text == "alpha beta|delta|eps|gamma|")
        #expect(c.validationDocuments.count == 1)
        let files = try FileManager.default.contentsOfDirectory(atPath: cache)
        #expect(files.count == 1 && files[0].hasSuffix(".tokens"))
        // Same sources: read from the cache (identical); a changed file: rebuilt.
        let again = try TokenCorpus.load(paths: [dir], tokenizer: ByteTestTokenizer(), separator: 256,
                                         validationFraction: 0.25, seed: 1, cacheDirectory: cache)
        #expect(again.tokens == c.tokens && again.validationDocuments == c.validationDocuments)
        try "gamma gamma".write(toFile: dir + "/sub/b.txt", atomically: true, encoding: .utf8)
        let changed = try TokenCorpus.load(paths: [dir], tokenizer: ByteTestTokenizer(), separator: 256,
                                           validationFraction: 0.25, seed: 1, cacheDirectory: cache)
        #expect(changed.tokens.count == c.tokens.count + 6)
    }

    @Test("a JSONL line without text names the file and line")
    func badJSONL() throws {
        let dir = try corpusDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "{\"text\": \"ok\"}\n{\"body\": 1}\n".write(toFile: dir + "/c.jsonl", atomically: true, encoding: .utf8)
        do {
            _ = try TokenCorpus.load(paths: [dir + "/c.jsonl"], tokenizer: ByteTestTokenizer(), separator: nil,
                                     validationFraction: 0, seed: 1, cacheDirectory: nil)
            Issue.record("accepted")
        } catch {
            #expect("\(error)".contains("c.jsonl:2") && "\(error)".contains("'text'"), "\(error)")
        }
    }

    @Test("batches: inputs and shifted targets, every example once per epoch, seeded order")
    func batches() throws {
        let stream = (0..<41).map { Int32($0) }
        var b = try ChunkBatcher(stream: stream, length: 4, seed: 9)
        #expect(b.exampleCount == 10)
        var starts: [Int32] = []
        for _ in 0..<5 {
            let (x, y) = b.next(batch: 2)
            #expect(x.count == 8 && y.count == 8)
            for i in 0..<8 { #expect(y[i] == x[i] + 1) }
            starts += [x[0], x[4]]
        }
        #expect(Set(starts) == Set(stride(from: Int32(0), to: 40, by: 4)))
        #expect(b.cursor == .init(epoch: 0, index: 10))
        var c = try ChunkBatcher(stream: stream, length: 4, seed: 9)
        _ = c.next(batch: 3)
        var d = try ChunkBatcher(stream: stream, length: 4, seed: 9)
        d.cursor = c.cursor
        #expect(c.next(batch: 4).inputs == d.next(batch: 4).inputs)
        #expect(throws: (any Error).self) { try ChunkBatcher(stream: [1, 2, 3], length: 4, seed: 1) }
    }
}
