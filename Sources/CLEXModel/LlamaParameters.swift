import CLEXTensor

/// The weights of one block, in any representation `W`: stored `Weight`s (the model's
/// parameters) or tape `Variable`s (a training step). Linear weights are [out, in], as HF
/// stores them. Which slots a block holds depends on its family
/// (`CheckpointNames.layerSlots`); the accessors of absent ones are nil (optional ones) or a
/// precondition failure (those every family has).
public struct LlamaLayerWeights<W> {
    private var storage: [W?]

    /// A block holding `slots`, the weight in each being `make(slot)`, made in the order given.
    public init<E: Error>(slots: [CheckpointNames.LayerSlot],
                          _ make: (CheckpointNames.LayerSlot) throws(E) -> W) throws(E) {
        storage = Array(repeating: nil, count: CheckpointNames.LayerSlot.allCases.count)
        for slot in slots { storage[slot.rawValue] = try make(slot) }
    }

    /// A LLaMA block whose weight in each slot is `make(slot)`, made in slot order.
    public init<E: Error>(_ make: (CheckpointNames.LayerSlot) throws(E) -> W) throws(E) {
        try self.init(slots: CheckpointNames.layerSlots(.llama), make)
    }

    /// The weight in `slot` (nil when the block has none).
    public subscript(slot: CheckpointNames.LayerSlot) -> W? {
        get { storage[slot.rawValue] }
        set { storage[slot.rawValue] = newValue }
    }

    /// The slots present, in slot order.
    public var slots: [CheckpointNames.LayerSlot] { CheckpointNames.LayerSlot.allCases.filter { storage[$0.rawValue] != nil } }

    private func required(_ slot: CheckpointNames.LayerSlot) -> W {
        guard let w = storage[slot.rawValue] else { preconditionFailure("this block has no \(slot) weight") }
        return w
    }

    public var attentionNorm: W { get { required(.attentionNorm) } set { self[.attentionNorm] = newValue } }   // [E]
    public var query: W { get { required(.query) } set { self[.query] = newValue } }                         // [Hq·D, E]
    public var key: W { get { required(.key) } set { self[.key] = newValue } }                               // [Hkv·D, E]
    public var value: W { get { required(.value) } set { self[.value] = newValue } }                         // [Hkv·D, E]
    public var output: W { get { required(.output) } set { self[.output] = newValue } }                      // [E, Hq·D]
    public var mlpNorm: W { get { required(.mlpNorm) } set { self[.mlpNorm] = newValue } }                   // [E]
    public var gate: W { get { required(.gate) } set { self[.gate] = newValue } }                            // [F, E]
    public var up: W { get { required(.up) } set { self[.up] = newValue } }                                  // [F, E]
    public var down: W { get { required(.down) } set { self[.down] = newValue } }                            // [E, F]
}

/// All weights of a model in representation `W`.
public struct LlamaWeightSet<W> {
    public var embedding: W       // [V, E]
    public var layers: [LlamaLayerWeights<W>]
    public var finalNorm: W       // [E]
    /// [E]; LayerNorm families only.
    public var finalNormBias: W?
    /// [V, E]; nil when tied to `embedding`.
    public var outputHead: W?
    /// [V]; Phi-2 only.
    public var outputHeadBias: W?

    /// A model with every slot in `slots` (`CheckpointNames.slots(for:)`), the weight in each
    /// being `value(slot)`, made in the order given.
    public init<E: Error>(slots: [CheckpointNames.Slot], _ value: (CheckpointNames.Slot) throws(E) -> W) throws(E) {
        var layerSlots: [Int: [CheckpointNames.LayerSlot]] = [:]
        var top: [CheckpointNames.Slot: W] = [:]
        var layerCount = 0
        for slot in slots {
            if case .layer(let i, let s) = slot { layerSlots[i, default: []].append(s); layerCount = max(layerCount, i + 1) }
        }
        // Typed throws and a loop: with `rethrows` and `(0..<n).map`, an error thrown by a layer's
        // weight was lost in release builds (Swift 6.3) and the half-made layer used (a segfault
        // found by `clex fuzz gguf`; the fuzz RegressionTests cover it).
        var made: [LlamaLayerWeights<W>] = []
        made.reserveCapacity(layerCount)
        var next = 0
        for slot in slots {
            switch slot {
            case .layer(let i, _):
                guard i == next else { continue }
                made.append(try LlamaLayerWeights(slots: layerSlots[i] ?? []) { (s) throws(E) -> W in try value(.layer(i, s)) })
                next += 1
            default:
                top[slot] = try value(slot)
            }
        }
        layers = made
        guard let embedding = top[.embedding], let finalNorm = top[.finalNorm] else {
            preconditionFailure("LlamaWeightSet: the slots \(slots) lack the embedding or the final norm")
        }
        (self.embedding, self.finalNorm) = (embedding, finalNorm)
        finalNormBias = top[.finalNormBias]
        outputHead = top[.outputHead]
        outputHeadBias = top[.outputHeadBias]
    }

    /// A LLaMA model with `layers` blocks whose weight in each slot is `value(slot)` (the output
    /// head only when not `tied`).
    public init<E: Error>(layers: Int, tied: Bool, _ value: (CheckpointNames.Slot) throws(E) -> W) throws(E) {
        try self.init(slots: CheckpointNames.slots(layers: layers, tied: tied), value)
    }

    /// A model of configuration `c` whose weight in each slot is `value(slot)`.
    public init<E: Error>(configuration c: LlamaConfiguration, _ value: (CheckpointNames.Slot) throws(E) -> W) throws(E) {
        try self.init(slots: CheckpointNames.slots(for: c), value)
    }

    /// Every slot present, in checkpoint order.
    public var slots: [CheckpointNames.Slot] {
        var all: [CheckpointNames.Slot] = [.embedding]
        for (i, layer) in layers.enumerated() { all += layer.slots.map { .layer(i, $0) } }
        all.append(.finalNorm)
        if finalNormBias != nil { all.append(.finalNormBias) }
        if outputHead != nil { all.append(.outputHead) }
        if outputHeadBias != nil { all.append(.outputHeadBias) }
        return all
    }

    /// The same model with every weight transformed by `transform(slot, weight)`.
    public func map<U, E: Error>(_ transform: (CheckpointNames.Slot, W) throws(E) -> U) throws(E) -> LlamaWeightSet<U> {
        try LlamaWeightSet<U>(slots: slots) { (slot) throws(E) -> U in try transform(slot, self[slot]!) }
    }

    /// The LM head: the output head, or the embedding when tied.
    public var head: W { outputHead ?? embedding }

    /// The weight in `slot` (nil when the model has none, e.g. the output head of a tied model).
    public subscript(slot: CheckpointNames.Slot) -> W? {
        get {
            switch slot {
            case .embedding: embedding
            case .finalNorm: finalNorm
            case .finalNormBias: finalNormBias
            case .outputHead: outputHead
            case .outputHeadBias: outputHeadBias
            case .layer(let i, let s): layers[i][s]
            }
        }
        set {
            switch slot {
            case .embedding: embedding = newValue!
            case .finalNorm: finalNorm = newValue!
            case .finalNormBias: finalNormBias = newValue
            case .outputHead: outputHead = newValue
            case .outputHeadBias: outputHeadBias = newValue
            case .layer(let i, let s): layers[i][s] = newValue
            }
        }
    }
}

/// A model's stored parameters.
public typealias LlamaParameters = LlamaWeightSet<Weight>

extension LlamaWeightSet where W == Weight {
    /// Fresh Float32 weights for pretraining: N(0, 0.02²) matrices (HF `initializer_range`), the
    /// output projections of each block scaled by 1/√(2·layers) (GPT-2's residual scaling), norms
    /// at 1, biases at 0.
    public init(randomFor c: LlamaConfiguration, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let std: Float = 0.02
        let residualStd = std / Float(2 * c.layerCount).squareRoot()
        self.init(configuration: c) { slot in
            let shape = CheckpointNames.shape(slot, c)
            switch (CheckpointNames.role(slot), slot) {
            case (.norm, _): return Weight(Tensor(shape: shape, repeating: 1))
            case (.bias, _): return Weight(Tensor(zeros: shape))
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
