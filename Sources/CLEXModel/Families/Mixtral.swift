/// Mixtral (HF `model_type` "mixtral", transformers 4.36 MixtralForCausalLM; the CLEX reference's
/// `CLEX/mixtral/modeling_mixtral_clex.py`): the LLaMA block whose MLP is a sparse mixture of
/// SwiGLU experts — a router scores the experts, each token goes to its top k, and their
/// outputs are summed with the renormalised softmax weights of those k.
extension FamilyNames {
    /// HF keeps one tensor per expert (`block_sparse_moe.experts.N.w1` = gate, `w3` = up,
    /// `w2` = down); llama.cpp one 3-D tensor per kind (LLM_TENSOR_FFN_GATE_EXPS "ffn_gate_exps",
    /// …; the router is LLM_TENSOR_FFN_GATE_INP "ffn_gate_inp").
    static let mixtral = FamilyNames(
        layerPrefix: { "model.layers.\($0)." },
        layer: [
            (.attentionNorm, Entry(huggingFace: "input_layernorm.weight", gguf: "attn_norm.weight")),
            (.query, Entry(huggingFace: "self_attn.q_proj.weight", gguf: "attn_q.weight")),
            (.key, Entry(huggingFace: "self_attn.k_proj.weight", gguf: "attn_k.weight")),
            (.value, Entry(huggingFace: "self_attn.v_proj.weight", gguf: "attn_v.weight")),
            (.output, Entry(huggingFace: "self_attn.o_proj.weight", gguf: "attn_output.weight")),
            (.mlpNorm, Entry(huggingFace: "post_attention_layernorm.weight", gguf: "ffn_norm.weight")),
            (.router, Entry(huggingFace: "block_sparse_moe.gate.weight", gguf: "ffn_gate_inp.weight")),
            (.expertGate, Entry(huggingFace: "block_sparse_moe.experts.{e}.w1.weight", gguf: "ffn_gate_exps.weight")),
            (.expertUp, Entry(huggingFace: "block_sparse_moe.experts.{e}.w3.weight", gguf: "ffn_up_exps.weight")),
            (.expertDown, Entry(huggingFace: "block_sparse_moe.experts.{e}.w2.weight", gguf: "ffn_down_exps.weight")),
        ],
        model: [
            (.embedding, Entry(huggingFace: "model.embed_tokens.weight", gguf: "token_embd.weight")),
            (.finalNorm, Entry(huggingFace: "model.norm.weight", gguf: "output_norm.weight")),
            (.outputHead, Entry(huggingFace: "lm_head.weight", gguf: "output.weight")),
        ])
}

extension LlamaModel {
    /// One Mixtral block: x + attention(RMSNorm(x)), then + the mixture of experts of RMSNorm(·).
    func mixtralBlock<B: ModelBackend>(_ backend: B, _ x: B.Value, layer i: Int, _ w: LlamaLayerWeights<B.Parameter>) -> B.Value {
        let c = configuration
        let h = backend.normalize(x, Normalization(weight: w.attentionNorm, epsilon: c.rmsNormEpsilon))
        let attended = attention(backend, h, layer: i, w)
        let x = backend.linear(attended, w.output, bias: nil, adding: x)
        let m = backend.normalize(x, Normalization(weight: w.mlpNorm, epsilon: c.rmsNormEpsilon))
        let experts = Experts(router: w.router, gate: w.expertGate, up: w.expertUp, down: w.expertDown,
                              count: c.expertCount, perToken: c.expertsPerToken)
        return backend.mixture(m, experts, adding: x)
    }
}
