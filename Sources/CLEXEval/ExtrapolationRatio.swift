/// The paper's extrapolation ratio (Chen et al. 2024, §4.3: how far past its training length a
/// model keeps its perplexity): the longest evaluated length n such that every evaluated length
/// from L to n has perplexity within `tolerance` × the perplexity at L, divided by L. 1 when
/// already the next length is worse; nil without a measurement at L.
public func extrapolationRatio(_ report: PerplexityReport, method: String, trainingLength L: Int,
                               tolerance: Double = 1.05) -> Double? {
    guard let atL = report.cell(method: method, length: L)?.measurement?.perplexity, atL.isFinite else { return nil }
    var longest = L
    for n in report.lengths.sorted() where n > L {
        guard let p = report.cell(method: method, length: n)?.measurement?.perplexity, p.isFinite, p <= tolerance * atL else { break }
        longest = n
    }
    return Double(longest) / Double(L)
}
