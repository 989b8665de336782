import Foundation

/// Third pipeline stage: byte-pair encoding of one piece (tokenizer.json `model` of type `BPE`;
/// GGUF `gpt2` and `llama` vocabularies).
///
/// A piece starts as one symbol per byte (`Unit.bytes`, GPT-2 byte-level vocabularies) or per
/// Unicode scalar (`Unit.characters`, SentencePiece-style vocabularies). Then the adjacent pair
/// with the lowest merge rank is merged, the leftmost first among equal ranks, until no pair
/// can merge. Ranks come from a merges list (tokenizer.json, GGUF `tokenizer.ggml.merges`) or
/// from piece scores (GGUF `tokenizer.ggml.scores`: any two symbols whose concatenation is a
/// vocabulary piece merge, the higher score first, as SentencePiece and llama.cpp do).
///
/// A scalar the vocabulary lacks becomes its `<0xNN>` byte tokens (`byteFallback`), else the
/// unknown token (consecutive ones fused with `fuseUnknown`), else it is dropped.
public struct BPEModel: Sendable {
    /// What a piece's initial symbols are.
    public enum Unit: Sendable {
        /// One symbol per byte, spelled through `ByteLevel.characters`.
        case bytes
        /// One symbol per Unicode scalar.
        case characters
    }

    /// One merge: the rank (lower merges first) and the id of the merged token.
    struct Merge {
        var rank: Int32
        var result: Int32
    }

    /// Initial-symbol unit.
    public let unit: Unit
    let vocabulary: [String: Int32]
    /// Pair key `left << 32 | right` → merge.
    let merges: [UInt64: Merge]
    /// `.bytes`: the id of each byte's character token (-1 when absent).
    let byteSymbolIDs: [Int32]
    /// The id of each `<0xNN>` token (-1 when absent).
    let fallbackByteIDs: [Int32]
    /// Single-scalar token ids (`.characters`).
    let scalarIDs: [UInt32: Int32]
    let byteFallback: Bool
    let unknownID: Int32?
    let fuseUnknown: Bool
    let ignoreMerges: Bool
    let cache = PieceCache()

    /// A model whose merges are ranked by a merges list.
    /// - Parameters:
    ///   - unit: initial-symbol unit.
    ///   - vocabulary: token string → id, for the model's tokens.
    ///   - merges: `(left, right)` token strings, highest priority first; a later duplicate of a
    ///     pair replaces the earlier one, as in HF tokenizers.
    ///   - byteFallback: spell unknown scalars with `<0xNN>` tokens.
    ///   - unknownID: the unknown token, for scalars that cannot be spelled otherwise.
    ///   - fuseUnknown: one unknown token for a run of unknown scalars.
    ///   - ignoreMerges: a piece that is itself a vocabulary token is that token, unmerged.
    /// - Throws: `TokenizerError.malformed` when a merge names a token (or a concatenation)
    ///   that is not in the vocabulary.
    public init(unit: Unit, vocabulary: [String: Int32], merges: [(String, String)], byteFallback: Bool = false,
                unknownID: Int32? = nil, fuseUnknown: Bool = false, ignoreMerges: Bool = false) throws {
        var table: [UInt64: Merge] = [:]
        table.reserveCapacity(merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            guard let a = vocabulary[left], let b = vocabulary[right] else {
                throw TokenizerError.malformed("merge \(rank) '\(left) \(right)' names a token that is not in the vocabulary")
            }
            guard let ab = vocabulary[left + right] else {
                throw TokenizerError.malformed("merge \(rank) '\(left) \(right)' makes '\(left + right)', which is not in the vocabulary")
            }
            table[Self.key(a, b)] = Merge(rank: Int32(rank), result: ab)
        }
        self.init(unit: unit, vocabulary: vocabulary, table: table, byteFallback: byteFallback, unknownID: unknownID,
                  fuseUnknown: fuseUnknown, ignoreMerges: ignoreMerges)
    }

    /// The longest piece, in Unicode scalars, that a score-ranked merge produces; longer
    /// pieces are kept (and decoded) but never merged into. SentencePiece's trainer caps pieces
    /// at 16 characters by default (`max_piece_length`).
    public static let maximumMergedPieceScalars = 256

    /// A SentencePiece-style model whose merges are ranked by piece score: two symbols merge
    /// when their concatenation is a mergeable token (of at most `maximumMergedPieceScalars`
    /// scalars), the highest score first.
    /// - Parameters:
    ///   - unit: initial-symbol unit.
    ///   - vocabulary: token string → id, for the model's tokens.
    ///   - scores: `scores[id]`, one per token id.
    ///   - mergeable: `mergeable[id]`: whether the token may be an initial symbol, take part in
    ///     or result from a merge (SentencePiece: normal pieces, not control, byte or unknown ones);
    ///     ids past its end may not.
    ///   - byteFallback, unknownID, fuseUnknown: as for the merges-list initializer.
    public init(unit: Unit, vocabulary: [String: Int32], scores: [Float], mergeable: [Bool],
                byteFallback: Bool = true, unknownID: Int32? = nil, fuseUnknown: Bool = true) {
        let canMerge = { (id: Int32) in id >= 0 && Int(id) < mergeable.count && mergeable[Int(id)] }
        // Dense ranks of the scores, highest first: equal scores tie and fall back to position.
        let scores = scores.map { $0.isNaN ? -Float.infinity : $0 }
        let distinct = Set(scores).sorted(by: >)
        var rankOfScore: [Float: Int32] = [:]
        for (rank, score) in distinct.enumerated() { rankOfScore[score] = Int32(rank) }
        var table: [UInt64: Merge] = [:]
        for (token, id) in vocabulary where Int(id) < scores.count && canMerge(id) {
            // Every cut of a k-scalar piece costs O(k): longer pieces would make loading
            // quadratic in a corrupt file's longest string (a 32 K piece took 43 s).
            guard token.unicodeScalars.count <= Self.maximumMergedPieceScalars else { continue }
            let scalars = Array(token.unicodeScalars)
            guard scalars.count >= 2 else { continue }
            var left = String.UnicodeScalarView()
            for cut in 1..<scalars.count {
                left.append(scalars[cut - 1])
                guard let a = vocabulary[String(left)], canMerge(a) else { continue }
                var right = String.UnicodeScalarView()
                right.append(contentsOf: scalars[cut...])
                guard let b = vocabulary[String(right)], canMerge(b) else { continue }
                table[Self.key(a, b)] = Merge(rank: rankOfScore[scores[Int(id)]] ?? Int32.max - 1, result: id)
            }
        }
        self.init(unit: unit, vocabulary: vocabulary, table: table, byteFallback: byteFallback, unknownID: unknownID,
                  fuseUnknown: fuseUnknown, ignoreMerges: false, scalarFilter: canMerge)
    }

    private init(unit: Unit, vocabulary: [String: Int32], table: [UInt64: Merge], byteFallback: Bool,
                 unknownID: Int32?, fuseUnknown: Bool, ignoreMerges: Bool, scalarFilter: ((Int32) -> Bool)? = nil) {
        self.unit = unit
        self.vocabulary = vocabulary
        self.merges = table
        self.byteFallback = byteFallback
        self.unknownID = unknownID
        self.fuseUnknown = fuseUnknown
        self.ignoreMerges = ignoreMerges
        byteSymbolIDs = ByteLevel.characters.map { vocabulary[String($0)] ?? -1 }
        fallbackByteIDs = (0..<256).map { vocabulary[String(format: "<0x%02X>", $0)] ?? -1 }
        var scalars: [UInt32: Int32] = [:]
        for (token, id) in vocabulary where scalarFilter?(id) ?? true {
            var it = token.unicodeScalars.makeIterator()
            if let first = it.next(), it.next() == nil { scalars[first.value] = id }
        }
        scalarIDs = scalars
    }

    @inline(__always)
    static func key(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    /// Appends the token ids of the piece `bytes[range]` to `ids`.
    public func tokenize(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into ids: inout [Int32]) {
        let cacheable = range.count <= PieceCache.maxPieceBytes
        let key = cacheable ? Array(bytes[range]) : []
        if cacheable, let hit = cache.lookup(key) {
            ids.append(contentsOf: hit)
            return
        }
        let start = ids.count
        if ignoreMerges, let whole = wholePieceID(bytes, range) {
            ids.append(whole)
        } else {
            var symbols = initialSymbols(bytes, range)
            mergeAll(&symbols)
            ids.append(contentsOf: symbols)
        }
        if cacheable { cache.store(key, Array(ids[start...])) }
    }

    /// The id of the whole piece when it is a vocabulary token.
    private func wholePieceID(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int32? {
        switch unit {
        case .bytes: return vocabulary[ByteLevel.encode(bytes[range])]
        case .characters: return vocabulary[String(decoding: bytes[range], as: UTF8.self)]
        }
    }

    /// One symbol per byte or scalar, with byte fallback / unknown handling applied.
    private func initialSymbols(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> [Int32] {
        var symbols: [Int32] = []
        symbols.reserveCapacity(range.count)
        switch unit {
        case .bytes:
            var unknownRun = false
            for i in range {
                let id = byteSymbolIDs[Int(bytes[i])]
                if id >= 0 {
                    symbols.append(id)
                    unknownRun = false
                } else {
                    appendUnknown(&symbols, &unknownRun)
                }
            }
        case .characters:
            var unknownRun = false
            var i = range.lowerBound
            while i < range.upperBound {
                let (value, length) = UTF8Step.decode(bytes, at: i, end: range.upperBound)
                defer { i += length }
                if let id = scalarIDs[value] {
                    symbols.append(id)
                    unknownRun = false
                    continue
                }
                if byteFallback, (i..<(i + length)).allSatisfy({ fallbackByteIDs[Int(bytes[$0])] >= 0 }) {
                    for k in i..<(i + length) { symbols.append(fallbackByteIDs[Int(bytes[k])]) }
                    unknownRun = false
                    continue
                }
                appendUnknown(&symbols, &unknownRun)
            }
        }
        return symbols
    }

    @inline(__always)
    private func appendUnknown(_ symbols: inout [Int32], _ unknownRun: inout Bool) {
        guard let unk = unknownID else { return }
        if !(fuseUnknown && unknownRun) { symbols.append(unk) }
        unknownRun = true
    }

    @inline(__always)
    private func merge(_ a: Int32, _ b: Int32) -> Merge? {
        merges[Self.key(a, b)]
    }

    /// Merges `symbols` in place: lowest rank first, leftmost first among equal ranks.
    func mergeAll(_ symbols: inout [Int32]) {
        if symbols.count < 2 || merges.isEmpty { return }
        if symbols.count <= 48 { mergeSmall(&symbols) } else { mergeLarge(&symbols) }
    }

    /// Quadratic version for short pieces: rescans the pair ranks after each merge.
    private func mergeSmall(_ s: inout [Int32]) {
        var ranks = [Int32](repeating: .max, count: s.count - 1)
        var results = [Int32](repeating: 0, count: s.count - 1)
        for i in 0..<(s.count - 1) {
            if let m = merge(s[i], s[i + 1]) { (ranks[i], results[i]) = (m.rank, m.result) }
        }
        while true {
            var best = -1
            var bestRank = Int32.max
            for i in 0..<ranks.count where ranks[i] < bestRank {
                best = i
                bestRank = ranks[i]
            }
            if best < 0 { return }
            s[best] = results[best]
            s.remove(at: best + 1)
            ranks.remove(at: best)
            results.remove(at: best)
            if best > 0 {
                let m = merge(s[best - 1], s[best])
                (ranks[best - 1], results[best - 1]) = (m?.rank ?? .max, m?.result ?? 0)
            }
            if best < ranks.count {
                let m = merge(s[best], s[best + 1])
                (ranks[best], results[best]) = (m?.rank ?? .max, m?.result ?? 0)
            }
        }
    }

    /// Priority-queue version for long pieces (SentencePiece texts are one piece): a linked list
    /// of symbols and a min-heap of `(rank, position)`, stale entries skipped when popped.
    private func mergeLarge(_ s: inout [Int32]) {
        let n = s.count
        var next = (0..<n).map { Int32($0 + 1) }
        var prev = (0..<n).map { Int32($0 - 1) }
        next[n - 1] = -1
        var alive = [Bool](repeating: true, count: n)
        var heap = MinHeap()
        for i in 0..<(n - 1) {
            if let m = merge(s[i], s[i + 1]) { heap.push(rank: m.rank, position: Int32(i)) }
        }
        while let (rank, position) = heap.pop() {
            let i = Int(position)
            guard alive[i], next[i] >= 0 else { continue }
            let j = Int(next[i])
            guard let m = merge(s[i], s[j]), m.rank == rank else { continue }
            s[i] = m.result
            alive[j] = false
            next[i] = next[j]
            if next[j] >= 0 { prev[Int(next[j])] = Int32(i) }
            if prev[i] >= 0, let left = merge(s[Int(prev[i])], s[i]) {
                heap.push(rank: left.rank, position: prev[i])
            }
            if next[i] >= 0, let right = merge(s[i], s[Int(next[i])]) {
                heap.push(rank: right.rank, position: Int32(i))
            }
        }
        var out: [Int32] = []
        out.reserveCapacity(n)
        var i: Int32 = 0
        while i >= 0 {
            out.append(s[Int(i)])
            i = next[Int(i)]
        }
        s = out
    }
}

/// Binary min-heap of `(rank, position)` packed into one UInt64 (both non-negative), so ties in
/// rank pop the leftmost position first.
struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(rank: Int32, position: Int32) {
        items.append(UInt64(UInt32(rank)) << 32 | UInt64(UInt32(position)))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent] <= items[i] { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> (Int32, Int32)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count, items[l] < items[m] { m = l }
                if r < items.count, items[r] < items[m] { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return (Int32(truncatingIfNeeded: top >> 32), Int32(truncatingIfNeeded: top & 0xFFFF_FFFF))
    }
}

/// Thread-safe memo of piece bytes → token ids. Bounded: cleared when it reaches `capacity`.
final class PieceCache: @unchecked Sendable {
    /// Longer pieces are not cached (SentencePiece segments can be whole texts).
    static let maxPieceBytes = 64
    static let capacity = 100_000
    private var entries: [[UInt8]: [Int32]] = [:]
    private let lock = NSLock()

    func lookup(_ key: [UInt8]) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return entries[key]
    }

    func store(_ key: [UInt8], _ ids: [Int32]) {
        lock.lock()
        defer { lock.unlock() }
        if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
        entries[key] = ids
    }
}
