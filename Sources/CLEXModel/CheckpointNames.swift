import CLEXTensor
import Foundation

/// The one description of a model's weights: for every slot its role and shape, and per family
/// (`FamilyNames`, in each `Families/` file) its checkpoint names — HF (`model.layers.N.…`, used
/// by safetensors and llama2.c exports) and GGUF (`blk.N.…`, llama.cpp's `llama-arch.cpp`
/// names). Loaders, writers, the trainer and the inspectors all read it; Swift code never spells
/// these strings elsewhere.
public enum CheckpointNames {
    /// A parameter of the model.
    public enum Slot: Hashable, Sendable {
        case embedding, finalNorm, finalNormBias, outputHead, outputHeadBias
        case layer(Int, LayerSlot)
    }

    /// A weight inside one transformer block. Which ones a block has depends on its family.
    public enum LayerSlot: CaseIterable, Sendable {
        case attentionNorm, attentionNormBias, query, queryBias, key, keyBias, value, valueBias, output, outputBias
        case mlpNorm, mlpNormBias, gate, up, upBias, down, downBias
        /// A sparse mixture of experts (Mixtral): the router [n, E] and every expert's SwiGLU
        /// matrices stacked by rows (gate and up [n·F, E], down [n·E, F]), as llama.cpp's
        /// `ffn_*_exps` tensors hold them.
        case router, expertGate, expertUp, expertDown
    }

    /// What a weight does, which decides how it is stored and trained.
    public enum Role: Sendable {
        /// A matrix [out, in] multiplied by activations (or a token table): kept in the
        /// checkpoint's element type for inference, decayed by the optimiser.
        case matrix
        /// A normalisation's per-feature scale [E]: Float32 in memory, not decayed.
        case norm
        /// A bias vector added after a matrix or a LayerNorm: Float32 in memory, not decayed.
        case bias
    }

    /// Naming scheme of a checkpoint format.
    public enum Scheme: Sendable {
        case huggingFace, gguf
    }

    /// The role of `slot`.
    public static func role(_ slot: Slot) -> Role {
        switch slot {
        case .embedding, .outputHead: .matrix
        case .finalNorm: .norm
        case .finalNormBias, .outputHeadBias: .bias
        case .layer(_, let s):
            switch s {
            case .attentionNorm, .mlpNorm: .norm
            case .query, .key, .value, .output, .gate, .up, .down, .router, .expertGate, .expertUp, .expertDown: .matrix
            case .attentionNormBias, .queryBias, .keyBias, .valueBias, .outputBias, .mlpNormBias, .upBias, .downBias: .bias
            }
        }
    }

    /// The expected shape of `slot` for configuration `c` (row-major, HF orientation: [out, in]).
    public static func shape(_ slot: Slot, _ c: LlamaConfiguration) -> [Int] {
        let (e, f) = (c.hiddenSize, c.intermediateSize)
        let (q, kv) = (c.headCount * c.headDimension, c.keyValueHeadCount * c.headDimension)
        switch slot {
        case .embedding, .outputHead: return [c.vocabularySize, e]
        case .finalNorm, .finalNormBias: return [e]
        case .outputHeadBias: return [c.vocabularySize]
        case .layer(_, let s):
            switch s {
            case .attentionNorm, .attentionNormBias, .mlpNorm, .mlpNormBias, .outputBias, .downBias: return [e]
            case .query: return [q, e]
            case .queryBias: return [q]
            case .key, .value: return [kv, e]
            case .keyBias, .valueBias: return [kv]
            case .output: return [e, q]
            case .gate, .up: return [f, e]
            case .upBias: return [f]
            case .down: return [e, f]
            case .router: return [c.expertCount, e]
            case .expertGate, .expertUp: return [c.expertCount * f, e]
            case .expertDown: return [c.expertCount * e, f]
            }
        }
    }

    /// The checkpoint name of `slot` under `scheme` for a model of family `architecture` (for a
    /// fused slot, the name of the tensor it is part of; for a slot stored as one tensor per
    /// expert, the names with "{e}" standing for the expert's number).
    public static func name(_ slot: Slot, _ scheme: Scheme, _ architecture: ModelArchitecture = .llama) -> String {
        let entry = FamilyNames.of(architecture).entry(slot)
        precondition(entry != nil, "CheckpointNames: \(architecture) has no \(slot)")
        return entry!.name(scheme)
    }

    /// Where `slot` lies when its checkpoint tensor holds several slots (GPT-NeoX's fused q/k/v);
    /// nil when the tensor is the slot's alone.
    static func fusedPart(_ slot: Slot, _ scheme: Scheme, _ architecture: ModelArchitecture) -> FusedPart? {
        guard let entry = FamilyNames.of(architecture).entry(slot) else { return nil }
        return scheme == .huggingFace ? entry.huggingFacePart : entry.ggufPart
    }

    /// The names of the per-expert tensors that hold `slot` (HF Mixtral's `experts.N.w1`, …),
    /// or nil when one tensor holds it.
    static func expertNames(_ slot: Slot, _ scheme: Scheme, _ c: LlamaConfiguration) -> [String]? {
        let pattern = name(slot, scheme, c.architecture)
        guard pattern.contains("{e}") else { return nil }
        return (0..<c.expertCount).map { pattern.replacingOccurrences(of: "{e}", with: "\($0)") }
    }

    /// Every slot of a LLaMA model with `layers` blocks (the output head only when untied).
    public static func slots(layers: Int, tied: Bool) -> [Slot] {
        FamilyNames.llama.slots(layers: layers, tied: tied)
    }

    /// Every slot of a model of configuration `c`, in checkpoint order.
    public static func slots(for c: LlamaConfiguration) -> [Slot] {
        FamilyNames.of(c.architecture).slots(layers: c.layerCount, tied: c.tieWordEmbeddings)
    }

    /// The slots of one block of family `architecture`.
    public static func layerSlots(_ architecture: ModelArchitecture) -> [LayerSlot] {
        FamilyNames.of(architecture).layerSlots
    }
}

/// One slot's share of a fused checkpoint tensor: rows of part `index` of `count` equal parts,
/// either contiguous (GGUF: all q rows, then k, then v) or interleaved per head (HF GPT-NeoX:
/// q, k and v rows of head 0, then of head 1, …).
struct FusedPart: Sendable {
    let index: Int
    let count: Int
    let interleavedHeads: Bool

    /// The rows of the fused tensor (`heads` heads of `headRows` rows in each part) that form
    /// this part, in order.
    func rows(heads: Int, headRows: Int) -> [Int] {
        let partRows = heads * headRows
        guard interleavedHeads else { return Array((index * partRows)..<((index + 1) * partRows)) }
        var rows: [Int] = []
        for h in 0..<heads {
            let start = (h * count + index) * headRows
            rows += start..<(start + headRows)
        }
        return rows
    }
}

/// A family's checkpoint names: the block's slots with their HF and GGUF names (relative to the
/// layer prefixes), and the model-level tensors. The table of a family is its `Families/` file's.
struct FamilyNames: Sendable {
    struct Entry: Sendable {
        var huggingFace: String
        var gguf: String
        var huggingFacePart: FusedPart? = nil
        var ggufPart: FusedPart? = nil

        func name(_ scheme: CheckpointNames.Scheme) -> String { scheme == .huggingFace ? huggingFace : gguf }
    }

    /// HF prefix of block N's names ("model.layers.N.").
    let layerPrefix: @Sendable (Int) -> String
    /// The block's slots in checkpoint order, with names relative to the layer prefix (GGUF:
    /// "blk.N.").
    let layer: [(CheckpointNames.LayerSlot, Entry)]
    /// Model-level slots (embedding, final norm, output head and their biases) with full names.
    let model: [(CheckpointNames.Slot, Entry)]

    var layerSlots: [CheckpointNames.LayerSlot] { layer.map(\.0) }

    func entry(_ slot: CheckpointNames.Slot) -> Entry? {
        switch slot {
        case .layer(let i, let s):
            guard var e = layer.first(where: { $0.0 == s })?.1 else { return nil }
            e.huggingFace = layerPrefix(i) + e.huggingFace
            e.gguf = "blk.\(i)." + e.gguf
            return e
        default:
            return model.first(where: { $0.0 == slot })?.1
        }
    }

    func slots(layers: Int, tied: Bool) -> [CheckpointNames.Slot] {
        let top = model.map(\.0)
        var all: [CheckpointNames.Slot] = top.filter { $0 == .embedding }
        for i in 0..<layers { all += layer.map { .layer(i, $0.0) } }
        all += top.filter { $0 == .finalNorm || $0 == .finalNormBias }
        if !tied { all += top.filter { $0 == .outputHead || $0 == .outputHeadBias } }
        return all
    }

    static func of(_ architecture: ModelArchitecture) -> FamilyNames {
        switch architecture {
        case .llama, .mistral: llama
        case .qwen2: qwen2
        case .phi2: phi2
        case .gptNeoX: gptNeoX
        case .mixtral: mixtral
        }
    }
}
