import CLEXTensor

/// The one description of a LLaMA model's weights: for every slot its checkpoint names (HF
/// `model.layers.N.self_attn.q_proj.weight`, used by safetensors and llama2.c exports; GGUF
/// `blk.N.attn_q.weight`, used by llama.cpp), its shape and its role. Loaders, writers, the
/// trainer and the inspectors all read it; Swift code never spells these strings elsewhere.
public enum CheckpointNames {
    /// A parameter of the model.
    public enum Slot: Hashable, Sendable {
        case embedding, finalNorm, outputHead
        case layer(Int, LayerSlot)
    }

    /// A weight inside one transformer block.
    public enum LayerSlot: CaseIterable, Sendable {
        case attentionNorm, query, key, value, output, mlpNorm, gate, up, down
    }

    /// What a weight does, which decides how it is stored and trained.
    public enum Role: Sendable {
        /// A matrix [out, in] multiplied by activations (or a token table): kept in the
        /// checkpoint's element type for inference, decayed by the optimiser.
        case matrix
        /// A normalisation's per-feature scale [E]: Float32 in memory, not decayed.
        case norm
    }

    /// Naming scheme of a checkpoint format.
    public enum Scheme: Sendable {
        case huggingFace, gguf
    }

    /// One row of the description.
    struct Descriptor {
        let huggingFace: String
        let gguf: String
        let role: Role
        let shape: @Sendable (LlamaConfiguration) -> [Int]
    }

    private static func layer(_ s: LayerSlot) -> Descriptor {
        switch s {
        case .attentionNorm: Descriptor(huggingFace: "input_layernorm.weight", gguf: "attn_norm.weight", role: .norm) { [$0.hiddenSize] }
        case .query: Descriptor(huggingFace: "self_attn.q_proj.weight", gguf: "attn_q.weight", role: .matrix) {
            [$0.headCount * $0.headDimension, $0.hiddenSize] }
        case .key: Descriptor(huggingFace: "self_attn.k_proj.weight", gguf: "attn_k.weight", role: .matrix) {
            [$0.keyValueHeadCount * $0.headDimension, $0.hiddenSize] }
        case .value: Descriptor(huggingFace: "self_attn.v_proj.weight", gguf: "attn_v.weight", role: .matrix) {
            [$0.keyValueHeadCount * $0.headDimension, $0.hiddenSize] }
        case .output: Descriptor(huggingFace: "self_attn.o_proj.weight", gguf: "attn_output.weight", role: .matrix) {
            [$0.hiddenSize, $0.headCount * $0.headDimension] }
        case .mlpNorm: Descriptor(huggingFace: "post_attention_layernorm.weight", gguf: "ffn_norm.weight", role: .norm) {
            [$0.hiddenSize] }
        case .gate: Descriptor(huggingFace: "mlp.gate_proj.weight", gguf: "ffn_gate.weight", role: .matrix) {
            [$0.intermediateSize, $0.hiddenSize] }
        case .up: Descriptor(huggingFace: "mlp.up_proj.weight", gguf: "ffn_up.weight", role: .matrix) {
            [$0.intermediateSize, $0.hiddenSize] }
        case .down: Descriptor(huggingFace: "mlp.down_proj.weight", gguf: "ffn_down.weight", role: .matrix) {
            [$0.hiddenSize, $0.intermediateSize] }
        }
    }

    static func descriptor(_ slot: Slot) -> (prefix: (hf: String, gguf: String), row: Descriptor) {
        switch slot {
        case .embedding:
            (("", ""), Descriptor(huggingFace: "model.embed_tokens.weight", gguf: "token_embd.weight", role: .matrix) {
                [$0.vocabularySize, $0.hiddenSize] })
        case .finalNorm:
            (("", ""), Descriptor(huggingFace: "model.norm.weight", gguf: "output_norm.weight", role: .norm) { [$0.hiddenSize] })
        case .outputHead:
            (("", ""), Descriptor(huggingFace: "lm_head.weight", gguf: "output.weight", role: .matrix) {
                [$0.vocabularySize, $0.hiddenSize] })
        case .layer(let i, let s):
            (("model.layers.\(i).", "blk.\(i)."), layer(s))
        }
    }

    /// The checkpoint name of `slot` under `scheme`.
    public static func name(_ slot: Slot, _ scheme: Scheme) -> String {
        let (prefix, row) = descriptor(slot)
        return scheme == .huggingFace ? prefix.hf + row.huggingFace : prefix.gguf + row.gguf
    }

    /// The role of `slot`.
    public static func role(_ slot: Slot) -> Role { descriptor(slot).row.role }

    /// The expected shape of `slot` for configuration `c` (row-major, HF orientation).
    public static func shape(_ slot: Slot, _ c: LlamaConfiguration) -> [Int] { descriptor(slot).row.shape(c) }

    /// Every slot of a model with `layers` blocks (the output head only when untied).
    public static func slots(layers: Int, tied: Bool) -> [Slot] {
        var all: [Slot] = [.embedding]
        for i in 0..<layers { all += LayerSlot.allCases.map { .layer(i, $0) } }
        all.append(.finalNorm)
        if !tied { all.append(.outputHead) }
        return all
    }
}
