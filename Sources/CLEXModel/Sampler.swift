import CLEXTensor
import Foundation

/// Picks the next token from a row of logits: greedy, or a seeded draw after temperature,
/// top-k, top-p (nucleus) and min-p filtering, applied in that order (as HF's `generate`); a
/// repetition penalty first, when set, as llama.cpp's `--repeat-penalty`.
public struct Sampler: Sendable {
    /// 0 means greedy (argmax); otherwise logits are divided by it.
    public var temperature: Float
    /// Keep only the k most likely tokens (0: no limit).
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches p (1: no limit).
    public var topP: Float
    /// Drop tokens less likely than `minP` × the most likely one's probability (0: no limit).
    public var minP: Float = 0
    /// Logits of the tokens among the last `repeatWindow` are divided by this when positive and
    /// multiplied by it when negative (llama.cpp's `--repeat-penalty`; 1: off).
    public var repeatPenalty: Float = 1
    /// How many recent tokens the penalty looks at (llama.cpp's `--repeat-last-n`, default 64).
    public var repeatWindow = 64
    var generator: SeededGenerator

    /// A sampler; `seed` makes every draw reproducible.
    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        generator = SeededGenerator(seed: seed)
    }

    /// Restarts the draws from `seed`.
    public mutating func reseed(_ seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// Checks the settings; errors name the option.
    public func validate() throws {
        guard temperature >= 0, temperature.isFinite else {
            throw ConfigurationError(source: "sampler", key: "temperature", problem: "expected a finite number ≥ 0, found \(temperature)")
        }
        guard topK >= 0 else { throw ConfigurationError(source: "sampler", key: "top-k", problem: "expected ≥ 0, found \(topK)") }
        guard topP > 0, topP <= 1 else {
            throw ConfigurationError(source: "sampler", key: "top-p", problem: "expected a number in (0, 1], found \(topP)")
        }
        guard repeatPenalty > 0, repeatPenalty.isFinite else {
            throw ConfigurationError(source: "sampler", key: "repeat-penalty", problem: "expected a finite number > 0, found \(repeatPenalty)")
        }
        guard repeatWindow >= 0 else {
            throw ConfigurationError(source: "sampler", key: "repeat-last-n", problem: "expected ≥ 0, found \(repeatWindow)")
        }
        guard minP >= 0, minP <= 1 else {
            throw ConfigurationError(source: "sampler", key: "min-p", problem: "expected a number in [0, 1], found \(minP)")
        }
    }

    /// The chosen token id for `logits` after the repetition penalty over `recent` (the sequence
    /// so far, oldest first; only its last `repeatWindow` count).
    public mutating func next(_ logits: UnsafeBufferPointer<Float>, recent: [Int32]) -> Int32 {
        guard repeatPenalty != 1, repeatWindow > 0, !recent.isEmpty else { return next(logits) }
        var row = Array(logits)
        for id in Set(recent.suffix(repeatWindow)) where id >= 0 && Int(id) < row.count {
            row[Int(id)] = row[Int(id)] > 0 ? row[Int(id)] / repeatPenalty : row[Int(id)] * repeatPenalty
        }
        return row.withUnsafeBufferPointer { next($0) }
    }

    /// The chosen token id for `logits` (one row of length V).
    public mutating func next(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        if temperature == 0 {
            var best = 0
            for i in 1..<logits.count where logits[i] > logits[best] { best = i }
            return Int32(best)
        }
        var order = Array(0..<logits.count)
        if topK > 0 && topK < order.count {
            order = Array(order.sorted { logits[$0] > logits[$1] }.prefix(topK))
        } else {
            order.sort { logits[$0] > logits[$1] }
        }
        let top = Double(logits[order[0]])
        var probs = order.map { Foundation.exp((Double(logits[$0]) - top) / Double(temperature)) }
        let total = probs.reduce(0, +)
        for i in probs.indices { probs[i] /= total }
        var keep = probs.count
        if topP < 1 {
            var cumulative = 0.0
            for (i, p) in probs.enumerated() {
                cumulative += p
                if cumulative >= Double(topP) { keep = i + 1; break }
            }
        }
        if minP > 0 {
            let floor = Double(minP) * probs[0]
            keep = max(1, min(keep, probs.prefix(keep).firstIndex { $0 < floor } ?? keep))
        }
        let mass = probs.prefix(keep).reduce(0, +)
        var u = Double(generator.next() >> 11) * (1.0 / Double(1 << 53)) * mass
        for i in 0..<keep {
            u -= probs[i]
            if u < 0 { return Int32(order[i]) }
        }
        return Int32(order[keep - 1])
    }
}
