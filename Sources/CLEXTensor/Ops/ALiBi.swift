import Foundation

/// ALiBi ("Attention with Linear Biases") head slopes.
///
/// Source: Press, Smith & Lewis, "Train Short, Test Long: Attention with Linear Biases Enables
/// Input Length Extrapolation", ICLR 2022 — the reference `get_slopes` in
/// github.com/ofirpress/attention_with_linear_biases (fairseq `multihead_attention.py`) — and the
/// same construction in HF transformers `build_alibi_tensor` (models/bloom/modeling_bloom.py):
///
///     n = 2^⌊log2 H⌋                           (closest power of two not above H)
///     slopes = base^1, base^2, …, base^n       with base = 2^(−8/n)
///     if H ≠ n: append extra^1, extra^3, …, extra^(2(H−n)−1)   with extra = 2^(−4/n)
///
/// (the extra slopes are every other slope of the 2n-head sequence, interleaving between the
/// first n). Values are computed in Double as 2^(−8k/n) and rounded once to Float.
extension Ops {
    /// The ALiBi slope of each of `heads` attention heads (H ≥ 1), in head order: the bias
    /// added to the logit of query position i and key position j in head h is −slope[h]·(i − j).
    /// 8 heads give 2^−1 … 2^−8; 12 heads give 2^−1 … 2^−8 then 2^−0.5, 2^−1.5, 2^−2.5, 2^−3.5.
    public static func alibiSlopes(heads: Int) -> [Float] {
        requireArgument(heads >= 1, "alibiSlopes: need at least one head, got \(heads)")
        let closest = 1 << (Int.bitWidth - 1 - heads.leadingZeroBitCount)
        let n = Double(closest)
        var slopes = (1...closest).map { Float(pow(2.0, -8.0 * Double($0) / n)) }
        // heads − closest < closest, so HF's min(closest, heads − closest) is just the difference.
        slopes += (0..<(heads - closest)).map { Float(pow(2.0, -4.0 * Double(2 * $0 + 1) / n)) }
        return slopes
    }
}
