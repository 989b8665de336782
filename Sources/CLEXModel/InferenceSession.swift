import Foundation
import CLEXTensor

/// A model reading one growing sequence: prefill, then incremental decoding through a KV cache,
/// with the rotation recomputed for the current context length. The cache keeps keys un-rotated
/// and attention rotates them as it reads them, so a rotation that changes with the length
/// changes every cached key's rotation at no cost.
public final class InferenceSession {
    /// The rotation for a context of `n` tokens: frequencies ([r/2]), attention factor and query
    /// scale; nil for a model without RoPE.
    public typealias RotaryProvider = (_ contextLength: Int) throws -> (frequencies: [Float], attentionFactor: Float, queryScale: Float)?

    /// Which rows of logits `feed` returns.
    public enum LogitRows: Sendable {
        /// One row per fed token (perplexity).
        case all
        /// Only the row after the last token (generation); skips the LM head for the others.
        case last
    }

    public let model: LlamaModel
    public let cache: KVCache
    let workspace: InferenceWorkspace
    /// cos and sin of the current rotation for every cached token.
    let rotation: RotationTable
    let rotary: RotaryProvider
    let alibiSlopes: [Float]?
    /// Lengths at which the rotation may change inside a prefill (sorted); a `split` prefill is
    /// split at each so every token is computed with the rotation of the context it sees.
    let boundaries: (_ from: Int, _ to: Int) -> [Int]
    /// How each `feed` chooses its rotation: `split` (default) or the reference's `single`.
    /// Read at every call, so it may change between feeds.
    public var prefill: PrefillRotation = .split

    /// A session with room for `capacity` tokens whose KV cache holds `cacheTypes`, computing over
    /// the model's stored weights with activations at `precision` where they meet quantised
    /// weights. Throws (before allocating) when the cache types do not suit the model or the
    /// cache and activations of a full context would not fit in the memory available
    /// (`ContextMemory.require`).
    public init(model: LlamaModel, capacity: Int, rotary: @escaping RotaryProvider, alibiSlopes: [Float]? = nil,
                boundaries: @escaping (_ from: Int, _ to: Int) -> [Int] = { _, _ in [] },
                precision: ActivationPrecision = .q8, cacheTypes: KVCacheTypes = .f16) throws {
        guard capacity >= 0 else { throw ModelLoadError("a session needs a capacity of at least 0 tokens, got \(capacity)") }
        try cacheTypes.validate(for: model.configuration)
        try ContextMemory(model.configuration, cacheTypes: cacheTypes).require(capacity)
        self.model = model
        self.cache = try KVCache(configuration: model.configuration, capacity: capacity, types: cacheTypes)
        self.rotation = RotationTable(capacity: capacity)
        self.workspace = InferenceWorkspace(precision: precision)
        self.rotary = rotary
        self.alibiSlopes = alibiSlopes
        self.boundaries = boundaries
    }

    /// Plain RoPE with the configuration's base (θ_j = b^(−2j/d)).
    public static func defaultRotary(_ c: LlamaConfiguration) -> RotaryProvider {
        let d = c.headDimension
        let inv = (0..<(d / 2)).map { Float(1 / pow(c.ropeTheta, Double(2 * $0) / Double(d))) }
        return { _ in (inv, 1, 1) }
    }

    /// Tokens seen so far.
    public var count: Int { cache.count }

    /// The token ids in the cache, in order.
    public private(set) var tokens: [Int32] = []

    /// Forgets the sequence.
    public func reset() {
        cache.reset()
        rotation.truncate(to: 0)
        tokens = []
    }

    /// Keeps the first `count` tokens of the sequence and forgets the rest, so that other tokens
    /// can follow the kept prefix (a prompt cache). The rest of a sequence fed after the prefix
    /// gets the same logits as the whole sequence fed from scratch under `split` prefill (each
    /// token's keys and values depend only on the tokens before it); under `single`, whose
    /// rotation depends on how the feed was cut, only up to that choice.
    public func truncate(to count: Int) {
        precondition((0...self.count).contains(count), "InferenceSession: cannot keep \(count) of \(self.count) tokens")
        cache.truncate(to: count)
        rotation.truncate(to: count)
        tokens.removeLast(tokens.count - count)
    }

    /// How many leading tokens of `other` the cache already holds (the longest common prefix).
    public func commonPrefix(with other: [Int32]) -> Int {
        zip(tokens, other).prefix { $0 == $1 }.count
    }

    /// Feeds `tokens` after those already seen and returns their logits: [T, V] for `.all` (row
    /// i predicts the token after tokens[i]), [1, V] for `.last` ([0, V] when `tokens` is empty).
    /// Throws when the cache would overflow or the positional method cannot serve the length.
    public func feed(_ tokens: [Int32], logits rows: LogitRows = .all) throws -> Tensor {
        var pieces: [Tensor] = []
        try feed(tokens, logits: rows) { _, logits in pieces.append(logits) }
        if pieces.count == 1 { return pieces[0] }
        let out = Tensor(zeros: [pieces.reduce(0) { $0 + $1.shape[0] }, model.configuration.vocabularySize])
        var row = 0
        for p in pieces {
            out.slice(rows: row..<(row + p.shape[0])).assign(p)
            row += p.shape[0]
        }
        return out
    }

    /// Feeds `tokens` like `feed(_:logits:)` but hands the logits to `body` piece by piece as they
    /// are computed — `body(first, logits)`: rows for tokens[first ..< first + logits.shape[0]]
    /// (`.all`), or the last token's row (`.last`, one call) — so a caller scoring them never holds
    /// more than one piece's logits. Under `split` the feed is split into pieces wherever the
    /// rotation changes (for dynamic NTK past L: at every token); under `single` every piece takes
    /// the rotation of the feed's end, and `.all` comes in pieces of at most
    /// `LlamaModel.prefillChunk` rows (which bound the logits held, not the rotation).
    public func feed(_ tokens: [Int32], logits rows: LogitRows, each body: (_ first: Int, _ logits: Tensor) throws -> Void) throws {
        guard tokens.count <= cache.remaining else {
            throw ModelLoadError("context full: \(cache.count) + \(tokens.count) tokens exceed the session's \(cache.capacity)")
        }
        let v = model.configuration.vocabularySize
        if let i = tokens.firstIndex(where: { $0 < 0 || Int($0) >= v }) {
            throw ModelLoadError("token id \(tokens[i]) at position \(i) is outside the model's vocabulary 0..<\(v) "
                                 + "(a tokenizer of another model?)")
        }
        let end = cache.count + tokens.count
        var cuts: [Int]
        switch prefill {
        case .split: cuts = boundaries(cache.count, end).filter { $0 > cache.count && $0 < end }
        case .single: cuts = rows == .all ? Array(stride(from: cache.count + LlamaModel.prefillChunk, to: end, by: LlamaModel.prefillChunk)) : []
        }
        cuts.append(end)
        var start = cache.count
        var offset = 0
        var delivered = false
        for cut in cuts where cut > start {
            let n = cut - start
            let wanted = rows == .all ? 0..<n : (cut == end ? (n - 1)..<n : n..<n)
            let logits = try step(Array(tokens[offset..<(offset + n)]), contextLength: prefill == .single ? end : cut,
                                  logitRows: wanted)
            if !wanted.isEmpty {
                try body(offset + wanted.lowerBound, logits)
                delivered = true
            }
            self.tokens += tokens[offset..<(offset + n)]
            offset += n
            start = cut
        }
        if !delivered { try body(0, Tensor(zeros: [0, model.configuration.vocabularySize])) }
    }

    /// The query factors of the next `tokens` tokens in a piece read with the rotation of
    /// `contextLength` (whose query factor is `last`): under `split` each token's own context's
    /// (CLEX's log_scale changes with every token, the rotation only at multiples of L), under
    /// `single` the piece's; nil when all are 1.
    func queryScales(tokens: Int, contextLength: Int, last: Float) throws -> [Float]? {
        let first = prefill == .split && tokens > 1 ? try rotary(cache.count + 1)?.queryScale ?? 1 : last
        if first == last { return last == 1 ? nil : Array(repeating: last, count: tokens) }
        return try (1...tokens).map { try rotary(cache.count + $0)?.queryScale ?? 1 }
    }

    /// One piece with a single rotation: brings the rotation table to it, then runs the model.
    func step(_ tokens: [Int32], contextLength: Int, logitRows: Range<Int>) throws -> Tensor {
        var placement = InferencePlacement(positions: (cache.count..<(cache.count + tokens.count)).map(Float.init),
                                           alibiSlopes: alibiSlopes)
        if let r = try rotary(contextLength) {
            rotation.update(cached: cache.positions, new: placement.positions, frequencies: r.frequencies,
                            attentionFactor: r.attentionFactor)
            placement.rotation = rotation
            placement.queryScales = try queryScales(tokens: tokens.count, contextLength: contextLength, last: r.queryScale)
        }
        return model.infer(tokens: tokens, placement: placement, cache: cache, logitRows: logitRows, workspace: workspace)
    }
}
