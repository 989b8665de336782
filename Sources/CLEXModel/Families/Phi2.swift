/// Phi-2 (HF `model_type` "phi", transformers 4.36 PhiForCausalLM; the CLEX reference's
/// `CLEX/phi2/modeling_phi2_clex.py`): one LayerNorm feeds both attention and a dense GELU MLP,
/// whose outputs are added to the block input (parallel residual); q/k/v/dense/fc1/fc2 carry
/// biases, the rotary embedding covers the first `partial_rotary_factor`·head_dim elements of
/// each head, and the LM head has a bias.
extension FamilyNames {
    /// HF names (PhiForCausalLM) and GGUF names (llama.cpp LLM_ARCH_PHI2, separate q/k/v; a
    /// file with one fused `attn_qkv` is read through `FusedQKVView`).
    static let phi2 = FamilyNames(
        layerPrefix: { "model.layers.\($0)." },
        layer: [
            (.attentionNorm, Entry(huggingFace: "input_layernorm.weight", gguf: "attn_norm.weight")),
            (.attentionNormBias, Entry(huggingFace: "input_layernorm.bias", gguf: "attn_norm.bias")),
            (.query, Entry(huggingFace: "self_attn.q_proj.weight", gguf: "attn_q.weight")),
            (.queryBias, Entry(huggingFace: "self_attn.q_proj.bias", gguf: "attn_q.bias")),
            (.key, Entry(huggingFace: "self_attn.k_proj.weight", gguf: "attn_k.weight")),
            (.keyBias, Entry(huggingFace: "self_attn.k_proj.bias", gguf: "attn_k.bias")),
            (.value, Entry(huggingFace: "self_attn.v_proj.weight", gguf: "attn_v.weight")),
            (.valueBias, Entry(huggingFace: "self_attn.v_proj.bias", gguf: "attn_v.bias")),
            (.output, Entry(huggingFace: "self_attn.dense.weight", gguf: "attn_output.weight")),
            (.outputBias, Entry(huggingFace: "self_attn.dense.bias", gguf: "attn_output.bias")),
            (.up, Entry(huggingFace: "mlp.fc1.weight", gguf: "ffn_up.weight")),
            (.upBias, Entry(huggingFace: "mlp.fc1.bias", gguf: "ffn_up.bias")),
            (.down, Entry(huggingFace: "mlp.fc2.weight", gguf: "ffn_down.weight")),
            (.downBias, Entry(huggingFace: "mlp.fc2.bias", gguf: "ffn_down.bias")),
        ],
        model: [
            (.embedding, Entry(huggingFace: "model.embed_tokens.weight", gguf: "token_embd.weight")),
            (.finalNorm, Entry(huggingFace: "model.final_layernorm.weight", gguf: "output_norm.weight")),
            (.finalNormBias, Entry(huggingFace: "model.final_layernorm.bias", gguf: "output_norm.bias")),
            (.outputHead, Entry(huggingFace: "lm_head.weight", gguf: "output.weight")),
            (.outputHeadBias, Entry(huggingFace: "lm_head.bias", gguf: "output.bias")),
        ])
}

extension LlamaModel {
    /// One Phi-2 block: h = LayerNorm(x); x + dense(attention(h)) + fc2(gelu(fc1(h))).
    func phi2Block<B: ModelBackend>(_ backend: B, _ x: B.Value, layer i: Int, _ w: LlamaLayerWeights<B.Parameter>) -> B.Value {
        let c = configuration
        let h = backend.normalize(x, Normalization(weight: w.attentionNorm, bias: w[.attentionNormBias], epsilon: c.rmsNormEpsilon))
        return parallelResidual(backend, x, attended: attention(backend, h, layer: i, w), mlpInput: h, w)
    }

    /// x + dense(attended) + fc2(act(fc1(m))): the parallel residual of Phi-2 and GPT-NeoX, whose
    /// dense MLP and output projection carry biases.
    func parallelResidual<B: ModelBackend>(_ backend: B, _ x: B.Value, attended: B.Value, mlpInput m: B.Value,
                                           _ w: LlamaLayerWeights<B.Parameter>) -> B.Value {
        let units = backend.activatedUnits(m, w.up, bias: w[.upBias], activation: configuration.activation)
        let y = backend.linear(attended, w.output, bias: w[.outputBias], adding: x)
        return backend.linear(units, w.down, bias: w[.downBias], adding: y)
    }
}
