import CLEXTensor

/// Keys and values of the tokens seen so far, one buffer per layer, for incremental decoding.
///
/// Keys are stored **rotated** (as attention consumes them), together with the rotation they
/// carry (frequencies and attention factor) and their positions. When a positional method changes
/// its frequencies with the length of the context (dynamic NTK, LongRoPE's short→long switch,
/// CLEX's steps in t), `rerotate` turns every cached key from the old rotation to the new one in
/// one pass (inverse rotation, then the new one) before the next attention. This costs one pass
/// over the cache per change, instead of rotating every cached key on every step (what storing
/// un-rotated keys would cost), and keys are never left with a stale rotation (the bug of HF's
/// dynamic NTK and llama.cpp's context shifting).
public final class KVCache {
    /// Capacity in tokens.
    public let capacity: Int
    let keyValueHeads: Int
    let headDimension: Int
    var keys: [Tensor]
    var values: [Tensor]
    /// Number of tokens cached.
    public private(set) var count = 0
    /// Position of each cached token.
    public private(set) var positions: [Float] = []
    /// The rotation the cached keys carry (nil: none yet, or a model without RoPE).
    public private(set) var frequencies: [Float]?
    public private(set) var attentionFactor: Float = 1

    /// An empty cache for `configuration` holding up to `capacity` tokens.
    public init(configuration c: LlamaConfiguration, capacity: Int) {
        self.capacity = capacity
        keyValueHeads = c.keyValueHeadCount
        headDimension = c.headDimension
        keys = (0..<c.layerCount).map { _ in Tensor(zeros: [capacity, c.keyValueHeadCount, c.headDimension]) }
        values = (0..<c.layerCount).map { _ in Tensor(zeros: [capacity, c.keyValueHeadCount, c.headDimension]) }
    }

    /// Room left, in tokens.
    public var remaining: Int { capacity - count }

    /// Forgets every cached token.
    public func reset() {
        count = 0
        positions = []
        frequencies = nil
        attentionFactor = 1
    }

    /// Brings the cached keys to the rotation (`frequencies`, `attentionFactor`) if they carry
    /// another one. Returns whether anything was re-rotated.
    @discardableResult
    public func rerotate(to frequencies: Tensor, attentionFactor: Float, layout: RotaryLayout, rotaryDim: Int?) -> Bool {
        let new = frequencies.scalars
        defer {
            self.frequencies = new
            self.attentionFactor = attentionFactor
        }
        guard count > 0, let old = self.frequencies, old != new || self.attentionFactor != attentionFactor else {
            return false
        }
        let oldTensor = try! Tensor(shape: [old.count], values: old)
        let backwards = positions.map { -$0 }
        for layer in keys.indices {
            let cached = keys[layer].slice(rows: 0..<count)
            let plain = Ops.rope(cached, positions: backwards, frequencies: oldTensor,
                                 attentionFactor: 1 / self.attentionFactor, layout: layout, rotaryDim: rotaryDim)
            let turned = Ops.rope(plain, positions: positions, frequencies: frequencies,
                                  attentionFactor: attentionFactor, layout: layout, rotaryDim: rotaryDim)
            cached.assign(turned)
        }
        return true
    }

    /// Appends the (rotated) keys and values of new tokens to `layer`: [T, Hkv, D] each. The
    /// positions are recorded once per step, by `commit`.
    func append(layer: Int, keys newKeys: Tensor, values newValues: Tensor) {
        let t = newKeys.shape[0]
        precondition(count + t <= capacity, "KVCache: \(count + t) tokens exceed the capacity of \(capacity)")
        keys[layer].slice(rows: count..<(count + t)).assign(newKeys)
        values[layer].slice(rows: count..<(count + t)).assign(newValues)
    }

    /// Keys and values of `layer` including `pending` tokens appended this step: [S, Hkv, D].
    func contents(layer: Int, pending: Int) -> (keys: Tensor, values: Tensor) {
        (keys[layer].slice(rows: 0..<(count + pending)), values[layer].slice(rows: 0..<(count + pending)))
    }

    /// Marks the tokens appended to every layer this step as cached.
    func commit(positions newPositions: [Float]) {
        count += newPositions.count
        positions += newPositions
    }
}
