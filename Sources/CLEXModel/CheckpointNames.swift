import CLEXTensor

/// The one mapping between checkpoint tensor names and model parameters. HF names
/// (`model.layers.N.self_attn.q_proj.weight`) are used by safetensors and llama2.c exports, GGUF
/// names (`blk.N.attn_q.weight`) by llama.cpp. Swift code never spells these strings elsewhere.
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

    /// Naming scheme of a checkpoint format.
    public enum Scheme: Sendable {
        case huggingFace, gguf
    }

    static let hfLayer: [LayerSlot: String] = [
        .attentionNorm: "input_layernorm.weight",
        .query: "self_attn.q_proj.weight", .key: "self_attn.k_proj.weight",
        .value: "self_attn.v_proj.weight", .output: "self_attn.o_proj.weight",
        .mlpNorm: "post_attention_layernorm.weight",
        .gate: "mlp.gate_proj.weight", .up: "mlp.up_proj.weight", .down: "mlp.down_proj.weight",
    ]

    static let ggufLayer: [LayerSlot: String] = [
        .attentionNorm: "attn_norm.weight",
        .query: "attn_q.weight", .key: "attn_k.weight", .value: "attn_v.weight", .output: "attn_output.weight",
        .mlpNorm: "ffn_norm.weight",
        .gate: "ffn_gate.weight", .up: "ffn_up.weight", .down: "ffn_down.weight",
    ]

    /// The checkpoint name of `slot` under `scheme`.
    public static func name(_ slot: Slot, _ scheme: Scheme) -> String {
        switch (slot, scheme) {
        case (.embedding, .huggingFace): return "model.embed_tokens.weight"
        case (.embedding, .gguf): return "token_embd.weight"
        case (.finalNorm, .huggingFace): return "model.norm.weight"
        case (.finalNorm, .gguf): return "output_norm.weight"
        case (.outputHead, .huggingFace): return "lm_head.weight"
        case (.outputHead, .gguf): return "output.weight"
        case (.layer(let i, let s), .huggingFace): return "model.layers.\(i).\(hfLayer[s]!)"
        case (.layer(let i, let s), .gguf): return "blk.\(i).\(ggufLayer[s]!)"
        }
    }

    /// Every slot of a model with `layers` blocks (the output head only when untied).
    public static func slots(layers: Int, tied: Bool) -> [Slot] {
        var all: [Slot] = [.embedding]
        for i in 0..<layers { all += LayerSlot.allCases.map { .layer(i, $0) } }
        all.append(.finalNorm)
        if !tied { all.append(.outputHead) }
        return all
    }

    /// The expected shape of `slot` for configuration `c` (row-major, HF orientation).
    public static func shape(_ slot: Slot, _ c: LlamaConfiguration) -> [Int] {
        let (e, f, d) = (c.hiddenSize, c.intermediateSize, c.headDimension)
        switch slot {
        case .embedding, .outputHead: return [c.vocabularySize, e]
        case .finalNorm: return [e]
        case .layer(_, let s):
            switch s {
            case .attentionNorm, .mlpNorm: return [e]
            case .query: return [c.headCount * d, e]
            case .key, .value: return [c.keyValueHeadCount * d, e]
            case .output: return [e, c.headCount * d]
            case .gate, .up: return [f, e]
            case .down: return [e, f]
            }
        }
    }
}

extension LlamaParameters {
    /// The tensor in `slot` (nil only for the output head of a tied model).
    public subscript(slot: CheckpointNames.Slot) -> Tensor? {
        get {
            switch slot {
            case .embedding: return embedding
            case .finalNorm: return finalNorm
            case .outputHead: return outputHead
            case .layer(let i, let s):
                let l = layers[i]
                switch s {
                case .attentionNorm: return l.attentionNorm
                case .query: return l.query
                case .key: return l.key
                case .value: return l.value
                case .output: return l.output
                case .mlpNorm: return l.mlpNorm
                case .gate: return l.gate
                case .up: return l.up
                case .down: return l.down
                }
            }
        }
        set {
            switch slot {
            case .embedding: embedding = newValue!
            case .finalNorm: finalNorm = newValue!
            case .outputHead: outputHead = newValue
            case .layer(let i, let s):
                switch s {
                case .attentionNorm: layers[i].attentionNorm = newValue!
                case .query: layers[i].query = newValue!
                case .key: layers[i].key = newValue!
                case .value: layers[i].value = newValue!
                case .output: layers[i].output = newValue!
                case .mlpNorm: layers[i].mlpNorm = newValue!
                case .gate: layers[i].gate = newValue!
                case .up: layers[i].up = newValue!
                case .down: layers[i].down = newValue!
                }
            }
        }
    }
}
