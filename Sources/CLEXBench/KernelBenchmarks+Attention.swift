import CLEXTensor

extension KernelBenchmarks {
    /// Causal grouped-query attention (9 query heads, 3 key/value heads, dim 64), forward and
    /// backward. FLOPs are the two products over the causal half, 4·H·D·L²/2 forward and 2.5×
    /// that backward (five products, FlashAttention-2's count). The forward's extra memory is the
    /// peak-RSS growth it causes beyond its inputs and output; it is reported for the first (the
    /// longest) length only, which runs before anything else has raised the peak.
    func attentionRows() -> [BenchmarkRow] {
        var rows: [BenchmarkRow] = []
        let (hq, hkv, d) = (9, 3, 64)
        for (index, length) in attentionLengths.enumerated() {
            var rng = SeededGenerator(seed: UInt64(length))
            let q = Tensor.randomNormal([length, hq, d], generator: &rng)
            let k = Tensor.randomNormal([length, hkv, d], generator: &rng)
            let v = Tensor.randomNormal([length, hkv, d], generator: &rng)
            let options = AttentionOptions()
            let before = peakResidentBytes()
            let outputBytes = length * hq * d * 4
            let fwd = Timing.measure(minSeconds: minSeconds, minRuns: 2) { _ = Ops.attention(q, k, v, options: options) }
            let extra = max(0, peakResidentBytes() - before - outputBytes)
            let flops = 4 * Double(hq * d) * Double(length) * Double(length) / 2
            var row = flopRow("attention forward", "L=\(length) 9q/3kv ×64", fwd, flops: flops, baseline: nil)
            if index == 0 { row.note = String(format: "extra memory %.1f MiB", Double(extra) / 1_048_576) }
            rows.append(row)
            let (out, lse) = Ops.attentionWithStats(q, k, v, options: options)
            let g = Tensor.randomNormal(out.shape, generator: &rng)
            let bwd = Timing.measure(minSeconds: minSeconds, minRuns: 2) {
                _ = Ops.attentionBackward(q: q, k: k, v: v, output: out, logSumExp: lse, gradient: g, options: options)
            }
            rows.append(flopRow("attention backward", "L=\(length) 9q/3kv ×64", bwd, flops: 2.5 * flops, baseline: nil))
        }
        return rows
    }
}
