import CLEXTensor

/// The weights of one block, in any representation `W`: stored `Weight`s (the model's
/// parameters) or tape `Variable`s (a training step). Linear weights are [out, in], as HF
/// stores them. Which slots a block holds depends on its family
/// (`CheckpointNames.layerSlots`); the accessors of absent ones are nil (optional ones) or a
/// precondition failure (those every family has).
public struct LlamaLayerWeights<W> {
    // One optional stored property per slot: no heap array per block.
    private var attentionNormSlot: W?
    private var attentionNormBiasSlot: W?
    private var querySlot: W?
    private var queryBiasSlot: W?
    private var keySlot: W?
    private var keyBiasSlot: W?
    private var valueSlot: W?
    private var valueBiasSlot: W?
    private var outputSlot: W?
    private var outputBiasSlot: W?
    private var mlpNormSlot: W?
    private var mlpNormBiasSlot: W?
    private var gateSlot: W?
    private var upSlot: W?
    private var upBiasSlot: W?
    private var downSlot: W?
    private var downBiasSlot: W?
    private var routerSlot: W?
    private var expertGateSlot: W?
    private var expertUpSlot: W?
    private var expertDownSlot: W?

    /// A block holding `slots`, the weight in each being `make(slot)`, made in the order given.
    public init<E: Error>(slots: [CheckpointNames.LayerSlot],
                          _ make: (CheckpointNames.LayerSlot) throws(E) -> W) throws(E) {
        for slot in slots { self[slot] = try make(slot) }
    }

    /// A LLaMA block whose weight in each slot is `make(slot)`, made in slot order.
    public init<E: Error>(_ make: (CheckpointNames.LayerSlot) throws(E) -> W) throws(E) {
        try self.init(slots: CheckpointNames.layerSlots(.llama), make)
    }

    /// The weight in `slot` (nil when the block has none).
    public subscript(slot: CheckpointNames.LayerSlot) -> W? {
        get {
            switch slot {
            case .attentionNorm: attentionNormSlot
            case .attentionNormBias: attentionNormBiasSlot
            case .query: querySlot
            case .queryBias: queryBiasSlot
            case .key: keySlot
            case .keyBias: keyBiasSlot
            case .value: valueSlot
            case .valueBias: valueBiasSlot
            case .output: outputSlot
            case .outputBias: outputBiasSlot
            case .mlpNorm: mlpNormSlot
            case .mlpNormBias: mlpNormBiasSlot
            case .gate: gateSlot
            case .up: upSlot
            case .upBias: upBiasSlot
            case .down: downSlot
            case .downBias: downBiasSlot
            case .router: routerSlot
            case .expertGate: expertGateSlot
            case .expertUp: expertUpSlot
            case .expertDown: expertDownSlot
            }
        }
        set {
            switch slot {
            case .attentionNorm: attentionNormSlot = newValue
            case .attentionNormBias: attentionNormBiasSlot = newValue
            case .query: querySlot = newValue
            case .queryBias: queryBiasSlot = newValue
            case .key: keySlot = newValue
            case .keyBias: keyBiasSlot = newValue
            case .value: valueSlot = newValue
            case .valueBias: valueBiasSlot = newValue
            case .output: outputSlot = newValue
            case .outputBias: outputBiasSlot = newValue
            case .mlpNorm: mlpNormSlot = newValue
            case .mlpNormBias: mlpNormBiasSlot = newValue
            case .gate: gateSlot = newValue
            case .up: upSlot = newValue
            case .upBias: upBiasSlot = newValue
            case .down: downSlot = newValue
            case .downBias: downBiasSlot = newValue
            case .router: routerSlot = newValue
            case .expertGate: expertGateSlot = newValue
            case .expertUp: expertUpSlot = newValue
            case .expertDown: expertDownSlot = newValue
            }
        }
    }

    /// The slots present, in slot order.
    public var slots: [CheckpointNames.LayerSlot] { CheckpointNames.LayerSlot.allCases.filter { self[$0] != nil } }

    private func required(_ slot: CheckpointNames.LayerSlot) -> W {
        guard let w = self[slot] else { preconditionFailure("this block has no \(slot) weight") }
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
    public var router: W { get { required(.router) } set { self[.router] = newValue } }                      // [n, E]
    public var expertGate: W { get { required(.expertGate) } set { self[.expertGate] = newValue } }          // [n·F, E]
    public var expertUp: W { get { required(.expertUp) } set { self[.expertUp] = newValue } }                // [n·F, E]
    public var expertDown: W { get { required(.expertDown) } set { self[.expertDown] = newValue } }          // [n·E, F]
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

    /// A model with every slot in `slots` (`CheckpointNames.slots(for:)`: the embedding and the
    /// final norm always), the weight in each being `value(slot)`, made in checkpoint order.
    public init<E: Error>(slots: [CheckpointNames.Slot], _ value: (CheckpointNames.Slot) throws(E) -> W) throws(E) {
        var layerSlots: [[CheckpointNames.LayerSlot]] = []
        for case .layer(let i, let s) in slots {
            while layerSlots.count <= i { layerSlots.append([]) }
            layerSlots[i].append(s)
        }
        embedding = try value(.embedding)
        // Typed throws and a loop: with `rethrows` and `(0..<n).map`, an error thrown by a layer's
        // weight was lost in release builds (Swift 6.3) and the half-made layer used (a segfault
        // found by `clex fuzz gguf`; the fuzz RegressionTests cover it).
        var made: [LlamaLayerWeights<W>] = []
        made.reserveCapacity(layerSlots.count)
        for i in 0..<layerSlots.count {
            made.append(try LlamaLayerWeights(slots: layerSlots[i]) { (s) throws(E) -> W in try value(.layer(i, s)) })
        }
        layers = made
        finalNorm = try value(.finalNorm)
        finalNormBias = slots.contains(.finalNormBias) ? try value(.finalNormBias) : nil
        outputHead = slots.contains(.outputHead) ? try value(.outputHead) : nil
        outputHeadBias = slots.contains(.outputHeadBias) ? try value(.outputHeadBias) : nil
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
            case (.matrix, .layer(_, .output)), (.matrix, .layer(_, .down)), (.matrix, .layer(_, .expertDown)):
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
