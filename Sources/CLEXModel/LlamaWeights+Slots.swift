import CLEXTensor

extension LlamaWeights {
    /// The variable holding `slot` (nil only for the output head of a tied model).
    public subscript(slot: CheckpointNames.Slot) -> Variable? {
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
}
