import CLEXTensor

extension LlamaModel {
    /// The same model with q/k rows ordered for `layout` (HF rotate_half or GGUF interleaved):
    /// rows permuted as llama.cpp's converter does (whole rows, in the weights' stored type), so
    /// logits are unchanged.
    public func withRotaryLayout(_ layout: RotaryLayout) -> LlamaModel {
        let c = configuration
        guard layout != c.rotaryLayout else { return self }
        func convert(_ w: Weight, heads: Int) -> Weight {
            w.permutingRows(Ops.rotaryRowOrder(rows: w.shape[0], heads: heads, toInterleaved: layout == .interleaved))
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
