import Foundation
import CLEXTensor

/// A model reading one growing sequence: prefill, then incremental decoding through a KV cache,
/// with the rotation recomputed for the current context length and the cache re-rotated when it
/// changes.
public final class InferenceSession {
    /// The rotation for a context of `n` tokens: frequencies ([r/2]), attention factor and query
    /// scale; nil for a model without RoPE.
    public typealias RotaryProvider = (_ contextLength: Int) throws -> (frequencies: [Float], attentionFactor: Float, queryScale: Float)?

    public let model: LlamaModel
    public let cache: KVCache
    let rotary: RotaryProvider
    let alibiSlopes: [Float]?
    /// Lengths at which the rotation may change inside a prefill (sorted); a prefill is split at
    /// each so every token is computed with the rotation of the context it sees.
    let boundaries: (_ from: Int, _ to: Int) -> [Int]

    /// A session with room for `capacity` tokens.
    public init(model: LlamaModel, capacity: Int, rotary: @escaping RotaryProvider, alibiSlopes: [Float]? = nil,
                boundaries: @escaping (_ from: Int, _ to: Int) -> [Int] = { _, _ in [] }) {
        self.model = model
        self.cache = KVCache(configuration: model.configuration, capacity: capacity)
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

    /// Forgets the sequence.
    public func reset() { cache.reset() }

    /// Feeds `tokens` after those already seen and returns their logits [T, V] (row i predicts
    /// the token after tokens[i]). Throws when the cache would overflow or the positional method
    /// cannot serve the length.
    public func feed(_ tokens: [Int32]) throws -> Tensor {
        guard tokens.count <= cache.remaining else {
            throw ModelLoadError("context full: \(cache.count) + \(tokens.count) tokens exceed the session's \(cache.capacity)")
        }
        var cuts = boundaries(cache.count, cache.count + tokens.count).filter { $0 > cache.count && $0 < cache.count + tokens.count }
        cuts.append(cache.count + tokens.count)
        var pieces: [Tensor] = []
        var start = cache.count
        var offset = 0
        for end in cuts where end > start {
            let piece = Array(tokens[offset..<(offset + end - start)])
            pieces.append(try step(piece, contextLength: end))
            offset += end - start
            start = end
        }
        if pieces.count == 1 { return pieces[0] }
        let v = model.configuration.vocabularySize
        let out = Tensor(zeros: [tokens.count, v])
        var row = 0
        for p in pieces {
            out.slice(rows: row..<(row + p.shape[0])).assign(p)
            row += p.shape[0]
        }
        return out
    }

    func step(_ tokens: [Int32], contextLength: Int) throws -> Tensor {
        let c = model.configuration
        let tape = Tape()
        let positions = (cache.count..<(cache.count + tokens.count)).map(Float.init)
        var rotaryInputs: PositionInputs.Rotary?
        var queryScale: Float = 1
        if let r = try rotary(contextLength) {
            let frequencies = try Tensor(shape: [r.frequencies.count], values: r.frequencies)
            cache.rerotate(to: frequencies, attentionFactor: r.attentionFactor, layout: c.rotaryLayout, rotaryDim: nil)
            rotaryInputs = PositionInputs.Rotary(frequencies: tape.constant(frequencies), attentionFactor: r.attentionFactor)
            queryScale = r.queryScale
        }
        let inputs = PositionInputs(positions: positions, rotary: rotaryInputs, alibiSlopes: alibiSlopes, queryScale: queryScale)
        return model.forward(tokens: tokens, weights: model.weights(on: tape, trainable: false),
                             positions: inputs, cache: cache).value
    }
}
