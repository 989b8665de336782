import CLEXTensor

/// The weights of one LLaMA block, in any representation `W`: stored `Weight`s (the model's
/// parameters) or tape `Variable`s (a training step). Linear weights are [out, in], as HF
/// stores them. These nine fields and `subscript(_:)` are the only place that lists them.
public struct LlamaLayerWeights<W> {
    public var attentionNorm: W   // [E]
    public var query: W           // [Hq·D, E]
    public var key: W             // [Hkv·D, E]
    public var value: W           // [Hkv·D, E]
    public var output: W          // [E, Hq·D]
    public var mlpNorm: W         // [E]
    public var gate: W            // [F, E]
    public var up: W              // [F, E]
    public var down: W            // [E, F]

    /// A block whose weight in each slot is `make(slot)`, made in slot order.
    public init<E: Error>(_ make: (CheckpointNames.LayerSlot) throws(E) -> W) throws(E) {
        attentionNorm = try make(.attentionNorm)
        query = try make(.query)
        key = try make(.key)
        value = try make(.value)
        output = try make(.output)
        mlpNorm = try make(.mlpNorm)
        gate = try make(.gate)
        up = try make(.up)
        down = try make(.down)
    }

    /// The weight in `slot`.
    public subscript(slot: CheckpointNames.LayerSlot) -> W {
        get {
            switch slot {
            case .attentionNorm: attentionNorm
            case .query: query
            case .key: key
            case .value: value
            case .output: output
            case .mlpNorm: mlpNorm
            case .gate: gate
            case .up: up
            case .down: down
            }
        }
        set {
            switch slot {
            case .attentionNorm: attentionNorm = newValue
            case .query: query = newValue
            case .key: key = newValue
            case .value: value = newValue
            case .output: output = newValue
            case .mlpNorm: mlpNorm = newValue
            case .gate: gate = newValue
            case .up: up = newValue
            case .down: down = newValue
            }
        }
    }
}

/// All weights of a LLaMA model in representation `W`.
public struct LlamaWeightSet<W> {
    public var embedding: W       // [V, E]
    public var layers: [LlamaLayerWeights<W>]
    public var finalNorm: W       // [E]
    /// [V, E]; nil when tied to `embedding`.
    public var outputHead: W?

    /// A model with `layers` blocks whose weight in each slot is `value(slot)` (the output head
    /// only when not `tied`).
    public init<E: Error>(layers: Int, tied: Bool, _ value: (CheckpointNames.Slot) throws(E) -> W) throws(E) {
        embedding = try value(.embedding)
        // Typed throws and a loop: with `rethrows` and `(0..<n).map`, an error thrown by a layer's
        // weight was lost in release builds (Swift 6.3) and the half-made layer used (a segfault
        // found by `clex fuzz gguf`; the fuzz RegressionTests cover it).
        var made: [LlamaLayerWeights<W>] = []
        made.reserveCapacity(layers)
        for i in 0..<layers { made.append(try LlamaLayerWeights { (slot) throws(E) -> W in try value(.layer(i, slot)) }) }
        self.layers = made
        finalNorm = try value(.finalNorm)
        outputHead = tied ? nil : try value(.outputHead)
    }

    /// Every slot present, in checkpoint order.
    public var slots: [CheckpointNames.Slot] { CheckpointNames.slots(layers: layers.count, tied: outputHead == nil) }

    /// The same model with every weight transformed by `transform(slot, weight)`.
    public func map<U, E: Error>(_ transform: (CheckpointNames.Slot, W) throws(E) -> U) throws(E) -> LlamaWeightSet<U> {
        try LlamaWeightSet<U>(layers: layers.count, tied: outputHead == nil) { (slot) throws(E) -> U in
            try transform(slot, self[slot]!)
        }
    }

    /// The LM head: the output head, or the embedding when tied.
    public var head: W { outputHead ?? embedding }

    /// The weight in `slot` (nil only for the output head of a tied model).
    public subscript(slot: CheckpointNames.Slot) -> W? {
        get {
            switch slot {
            case .embedding: embedding
            case .finalNorm: finalNorm
            case .outputHead: outputHead
            case .layer(let i, let s): layers[i][s]
            }
        }
        set {
            switch slot {
            case .embedding: embedding = newValue!
            case .finalNorm: finalNorm = newValue!
            case .outputHead: outputHead = newValue
            case .layer(let i, let s): layers[i][s] = newValue!
            }
        }
    }
}

/// A model's stored parameters.
public typealias LlamaParameters = LlamaWeightSet<Weight>

extension LlamaWeightSet where W == Weight {
    /// Fresh Float32 weights for pretraining: N(0, 0.02²) matrices (HF `initializer_range`), the
    /// output projections of each block scaled by 1/√(2·layers) (GPT-2's residual scaling), norms
    /// at 1.
    public init(randomFor c: LlamaConfiguration, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let std: Float = 0.02
        let residualStd = std / Float(2 * c.layerCount).squareRoot()
        self.init(layers: c.layerCount, tied: c.tieWordEmbeddings) { slot in
            let shape = CheckpointNames.shape(slot, c)
            switch (CheckpointNames.role(slot), slot) {
            case (.norm, _): return Weight(Tensor(shape: shape, repeating: 1))
            case (.matrix, .layer(_, .output)), (.matrix, .layer(_, .down)):
                return Weight(Tensor.randomNormal(shape, std: residualStd, generator: &rng))
            case (.matrix, _): return Weight(Tensor.randomNormal(shape, std: std, generator: &rng))
            }
        }
    }

    /// The same model with every weight in Float32 tensors of its own (a copy: safe to update in
    /// place, as training does).
    public func floatCopy() -> LlamaParameters {
        map { _, w in Weight(w.floatTensor?.copy() ?? w.tensor) }
    }

    /// Bytes of all weights as stored.
    public var byteCount: Int { slots.reduce(0) { $0 + self[$1]!.byteCount } }

    /// The element types of the matrices and how many use each, e.g. "Q4_0 ×154, Q6_K ×1".
    public var typeSummary: String {
        var counts: [ElementType: Int] = [:]
        var order: [ElementType] = []
        for slot in slots where CheckpointNames.role(slot) == .matrix {
            let t = self[slot]!.type
            if counts[t] == nil { order.append(t) }
            counts[t, default: 0] += 1
        }
        return order.map { "\($0) ×\(counts[$0]!)" }.joined(separator: ", ")
    }
}

extension LlamaLayerWeights: Sendable where W: Sendable {}
extension LlamaWeightSet: Sendable where W: Sendable {}
