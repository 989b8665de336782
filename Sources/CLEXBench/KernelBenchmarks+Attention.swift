import CLEXTensor

extension KernelBenchmarks {
    /// Causal grouped-query attention (9 query heads, 3 key/value heads, dim 64). FLOPs are the
    /// two products over the causal half: 4·H·D·L²/2. The extra memory is the peak-RSS growth
    /// during the forward beyond its inputs and output.
    func attentionRows(gemmRate: Double?) -> [BenchmarkRow] {
        []
    }

    /// Element-wise, normalisation, softmax, loss, embedding and RoPE kernels (bandwidth-bound).
    func pointwiseRows(copyRate: Double) -> [BenchmarkRow] {
        []
    }
}
