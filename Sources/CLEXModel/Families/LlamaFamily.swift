/// LLaMA and the families sharing its block — Mistral (identical weights; a sliding window in
/// its config) and Qwen2 (q/k/v biases): RMSNorm → grouped-query attention → residual,
/// RMSNorm → SwiGLU MLP → residual.
extension FamilyNames {
    /// The LLaMA block's names (HF LlamaForCausalLM; llama.cpp LLM_ARCH_LLAMA).
    static let llama = FamilyNames(layerPrefix: { "model.layers.\($0)." }, layer: llamaLayer(biases: false), model: llamaModel)

    /// Qwen2: LLaMA's names plus `q_proj`/`k_proj`/`v_proj` biases (HF Qwen2Attention; llama.cpp
    /// LLM_ARCH_QWEN2 `attn_q.bias`, …).
    static let qwen2 = FamilyNames(layerPrefix: { "model.layers.\($0)." }, layer: llamaLayer(biases: true), model: llamaModel)

    static let llamaModel: [(CheckpointNames.Slot, Entry)] = [
        (.embedding, Entry(huggingFace: "model.embed_tokens.weight", gguf: "token_embd.weight")),
        (.finalNorm, Entry(huggingFace: "model.norm.weight", gguf: "output_norm.weight")),
        (.outputHead, Entry(huggingFace: "lm_head.weight", gguf: "output.weight")),
    ]

    static func llamaLayer(biases: Bool) -> [(CheckpointNames.LayerSlot, Entry)] {
        var layer: [(CheckpointNames.LayerSlot, Entry)] = [
            (.attentionNorm, Entry(huggingFace: "input_layernorm.weight", gguf: "attn_norm.weight")),
            (.query, Entry(huggingFace: "self_attn.q_proj.weight", gguf: "attn_q.weight")),
            (.key, Entry(huggingFace: "self_attn.k_proj.weight", gguf: "attn_k.weight")),
            (.value, Entry(huggingFace: "self_attn.v_proj.weight", gguf: "attn_v.weight")),
            (.output, Entry(huggingFace: "self_attn.o_proj.weight", gguf: "attn_output.weight")),
            (.mlpNorm, Entry(huggingFace: "post_attention_layernorm.weight", gguf: "ffn_norm.weight")),
            (.gate, Entry(huggingFace: "mlp.gate_proj.weight", gguf: "ffn_gate.weight")),
            (.up, Entry(huggingFace: "mlp.up_proj.weight", gguf: "ffn_up.weight")),
            (.down, Entry(huggingFace: "mlp.down_proj.weight", gguf: "ffn_down.weight")),
        ]
        if biases {
            layer.insert((.queryBias, Entry(huggingFace: "self_attn.q_proj.bias", gguf: "attn_q.bias")), at: 2)
            layer.insert((.keyBias, Entry(huggingFace: "self_attn.k_proj.bias", gguf: "attn_k.bias")), at: 4)
            layer.insert((.valueBias, Entry(huggingFace: "self_attn.v_proj.bias", gguf: "attn_v.bias")), at: 6)
        }
        return layer
    }
}

extension LlamaModel {
    /// One LLaMA block (also Mistral's and Qwen2's): x + attention(RMSNorm(x)), then
    /// + SwiGLU(RMSNorm(·)). Biases on q/k/v where the family has them.
    func llamaBlock<B: ModelBackend>(_ backend: B, _ x: B.Value, layer i: Int, _ w: LlamaLayerWeights<B.Parameter>) -> B.Value {
        sequentialBlock(backend, x, layer: i, w) { m, x in
            backend.linear(backend.gatedUnits(m, gate: w.gate, up: w.up), w.down, bias: nil, adding: x)
        }
    }

    /// x + attention(RMSNorm(x)), then `mlp(RMSNorm(y), y)` of the result y: the LLaMA block with
    /// the MLP (which adds its output to y) left to the family.
    func sequentialBlock<B: ModelBackend>(_ backend: B, _ x: B.Value, layer i: Int, _ w: LlamaLayerWeights<B.Parameter>,
                                          mlp: (_ normalized: B.Value, _ residual: B.Value) -> B.Value) -> B.Value {
        let c = configuration
        let h = backend.normalize(x, Normalization(weight: w.attentionNorm, epsilon: c.rmsNormEpsilon))
        let attended = attention(backend, h, layer: i, w)
        let y = backend.linear(attended, w.output, bias: nil, adding: x)
        return mlp(backend.normalize(y, Normalization(weight: w.mlpNorm, epsilon: c.rmsNormEpsilon)), y)
    }
}
