/// Mixtral (HF `model_type` "mixtral", transformers 4.36 MixtralForCausalLM; the CLEX reference's
/// `CLEX/mixtral/modeling_mixtral_clex.py`): the LLaMA block whose MLP is a sparse mixture of
/// SwiGLU experts — a router scores the experts, each token goes to its top k, and their
/// outputs are summed with the renormalised softmax weights of those k.
extension FamilyNames {
    /// LLaMA's attention and norms; for the MLP, HF keeps one tensor per expert
    /// (`block_sparse_moe.experts.N.w1` = gate, `w3` = up, `w2` = down), llama.cpp one 3-D tensor
    /// per kind (LLM_TENSOR_FFN_GATE_EXPS "ffn_gate_exps", …; the router is LLM_TENSOR_FFN_GATE_INP
    /// "ffn_gate_inp").
    static let mixtral = FamilyNames(
        layerPrefix: { "model.layers.\($0)." },
        layer: Array(llamaLayer(biases: false).prefix { $0.0 != .gate }) + [
            (.router, Entry(huggingFace: "block_sparse_moe.gate.weight", gguf: "ffn_gate_inp.weight")),
            (.expertGate, Entry(huggingFace: "block_sparse_moe.experts.{e}.w1.weight", gguf: "ffn_gate_exps.weight")),
            (.expertUp, Entry(huggingFace: "block_sparse_moe.experts.{e}.w3.weight", gguf: "ffn_up_exps.weight")),
            (.expertDown, Entry(huggingFace: "block_sparse_moe.experts.{e}.w2.weight", gguf: "ffn_down_exps.weight")),
        ],
        model: llamaModel)
}

extension LlamaModel {
    /// One Mixtral block: x + attention(RMSNorm(x)), then + the mixture of experts of RMSNorm(·).
    func mixtralBlock<B: ModelBackend>(_ backend: B, _ x: B.Value, layer i: Int, _ w: LlamaLayerWeights<B.Parameter>) -> B.Value {
        let experts = Experts(router: w.router, gate: w.expertGate, up: w.expertUp, down: w.expertDown,
                              count: configuration.expertCount, perToken: configuration.expertsPerToken)
        return sequentialBlock(backend, x, layer: i, w) { m, y in backend.mixture(m, experts, adding: y) }
    }
}
