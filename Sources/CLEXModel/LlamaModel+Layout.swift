import CLEXTensor

extension LlamaModel {
    /// The same model with q/k rows ordered for `layout` (HF rotate_half or GGUF interleaved):
    /// weights permuted as llama.cpp's converter does, so logits are unchanged.
    public func withRotaryLayout(_ layout: RotaryLayout) -> LlamaModel {
        let c = configuration
        guard layout != c.rotaryLayout else { return self }
        func convert(_ w: Tensor, heads: Int) -> Tensor {
            layout == .interleaved ? Ops.permuteRowsForInterleavedRotary(weight: w, heads: heads)
                                   : Ops.unpermuteRowsForInterleavedRotary(weight: w, heads: heads)
        }
        var p = parameters
        for i in p.layers.indices {
            p.layers[i].query = convert(p.layers[i].query, heads: c.headCount)
            p.layers[i].key = convert(p.layers[i].key, heads: c.keyValueHeadCount)
        }
        var config = c
        config.rotaryLayout = layout
        return LlamaModel(configuration: config, parameters: p)
    }
}
