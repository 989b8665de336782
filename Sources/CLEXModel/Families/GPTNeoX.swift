/// GPT-NeoX / Pythia (HF `model_type` "gpt_neox", transformers 4.36 GPTNeoXForCausalLM):
/// LayerNorms with bias, one fused q/k/v projection with bias, a GELU MLP with biases, rotary
/// embedding on the first `rotary_pct`·head_dim elements of each head (base
/// `rotary_emb_base`), and — with `use_parallel_residual` (the default) —
/// x + attention(LN₁(x)) + MLP(LN₂(x)); without it, the two sub-blocks one after the other.
extension FamilyNames {
    /// HF's fused `query_key_value` holds, per head, its q, k and v rows together
    /// (GPTNeoXAttention views it as [heads, 3·head_size]); llama.cpp's converter reorders it to
    /// all q rows, then k, then v (convert_hf_to_gguf.py GPTNeoXModel.modify_tensors), so each
    /// slot is a contiguous third of the GGUF `attn_qkv`.
    static let gptNeoX = FamilyNames(
        layerPrefix: { "gpt_neox.layers.\($0)." },
        layer: [
            (.attentionNorm, Entry(huggingFace: "input_layernorm.weight", gguf: "attn_norm.weight")),
            (.attentionNormBias, Entry(huggingFace: "input_layernorm.bias", gguf: "attn_norm.bias")),
            (.query, fused("weight", 0)), (.queryBias, fused("bias", 0)),
            (.key, fused("weight", 1)), (.keyBias, fused("bias", 1)),
            (.value, fused("weight", 2)), (.valueBias, fused("bias", 2)),
            (.output, Entry(huggingFace: "attention.dense.weight", gguf: "attn_output.weight")),
            (.outputBias, Entry(huggingFace: "attention.dense.bias", gguf: "attn_output.bias")),
            (.mlpNorm, Entry(huggingFace: "post_attention_layernorm.weight", gguf: "ffn_norm.weight")),
            (.mlpNormBias, Entry(huggingFace: "post_attention_layernorm.bias", gguf: "ffn_norm.bias")),
            (.up, Entry(huggingFace: "mlp.dense_h_to_4h.weight", gguf: "ffn_up.weight")),
            (.upBias, Entry(huggingFace: "mlp.dense_h_to_4h.bias", gguf: "ffn_up.bias")),
            (.down, Entry(huggingFace: "mlp.dense_4h_to_h.weight", gguf: "ffn_down.weight")),
            (.downBias, Entry(huggingFace: "mlp.dense_4h_to_h.bias", gguf: "ffn_down.bias")),
        ],
        model: [
            (.embedding, Entry(huggingFace: "gpt_neox.embed_in.weight", gguf: "token_embd.weight")),
            (.finalNorm, Entry(huggingFace: "gpt_neox.final_layer_norm.weight", gguf: "output_norm.weight")),
            (.finalNormBias, Entry(huggingFace: "gpt_neox.final_layer_norm.bias", gguf: "output_norm.bias")),
            (.outputHead, Entry(huggingFace: "embed_out.weight", gguf: "output.weight")),
        ])

    private static func fused(_ kind: String, _ index: Int) -> Entry {
        Entry(huggingFace: "attention.query_key_value.\(kind)", gguf: "attn_qkv.\(kind)",
              huggingFacePart: FusedPart(index: index, count: 3, interleavedHeads: true),
              ggufPart: FusedPart(index: index, count: 3, interleavedHeads: false))
    }
}

extension LlamaModel {
    /// One GPT-NeoX block, parallel: x + dense(attention(LN₁(x))) + MLP(LN₂(x)); sequential:
    /// y = x + dense(attention(LN₁(x))), then y + MLP(LN₂(y)).
    func gptNeoXBlock<B: ModelBackend>(_ backend: B, _ x: B.Value, layer i: Int, _ w: LlamaLayerWeights<B.Parameter>) -> B.Value {
        let c = configuration
        let attentionNorm = Normalization(weight: w.attentionNorm, bias: w[.attentionNormBias], epsilon: c.rmsNormEpsilon)
        let mlpNorm = Normalization(weight: w.mlpNorm, bias: w[.mlpNormBias], epsilon: c.rmsNormEpsilon)
        let h = backend.normalize(x, attentionNorm)
        let attended = attention(backend, h, layer: i, w)
        if c.parallelResidual {
            return parallelResidual(backend, x, attended: attended, mlpInput: backend.normalize(x, mlpNorm), w)
        }
        let y = backend.linear(attended, w.output, bias: w[.outputBias], adding: x)
        let units = backend.activatedUnits(backend.normalize(y, mlpNorm), w.up, bias: w[.upBias], activation: c.activation)
        return backend.linear(units, w.down, bias: w[.downBias], adding: y)
    }
}
