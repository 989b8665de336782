import CLEXModel
import Foundation

/// The perplexity of one context length under one protocol: token-weighted mean NLL, PPL, their
/// standard errors (those of `PerplexityResult`) and how many windows and tokens it covers.
/// `reference` weighs its tokens unequally (`ReferenceChunks.weights`).
public struct PerplexityMeasurement: Sendable, Codable, Equatable {
    /// Command-line name of the protocol (`PerplexityProtocol.name`).
    public var protocolName: String
    /// The protocol in words (`PerplexityProtocol.label`).
    public var protocolLabel: String
    /// Context length n (tokens per window).
    public var length: Int
    /// Windows evaluated.
    public var windows: Int
    /// Tokens scored.
    public var tokens: Int
    /// Mean negative log-likelihood (nats per token), weighted where weights are given.
    public var meanNLL: Double
    /// Standard error of `meanNLL`: √(s² / N) with the sample variance s² (the same number as
    /// llama.cpp's √((⟨x²⟩ − ⟨x⟩²) / (N − 1))); with weights w, √(N/(N−1) · Σ w²(x − m)²) / Σ w,
    /// which is the same for equal weights.
    public var standardError: Double
    /// exp(meanNLL).
    public var perplexity: Double
    /// PPL · SE(NLL) (delta method; llama.cpp's "PPL = X +/- σ").
    public var perplexityError: Double

    /// The measurement of the scored NLLs `nll` over `windows` windows, each token weighted by
    /// `weights` (one per NLL, positive) when given, else equally.
    public init(protocol p: PerplexityProtocol, length: Int, windows: Int, nll: [Double], weights: [Double]? = nil) {
        let result = PerplexityResult(protocolName: p.label, length: length, nll: nll)
        protocolName = p.name
        protocolLabel = p.label
        self.length = length
        self.windows = windows
        tokens = result.tokens
        meanNLL = result.meanNLL
        standardError = result.standardError
        if let weights {
            precondition(weights.count == nll.count, "PerplexityMeasurement: \(weights.count) weights for \(nll.count) NLLs")
            let total = weights.reduce(0, +)
            let mean = zip(nll, weights).reduce(0) { $0 + $1.0 * $1.1 } / total
            let spread = zip(nll, weights).reduce(0) { $0 + $1.1 * $1.1 * ($1.0 - mean) * ($1.0 - mean) }
            let n = Double(nll.count)
            meanNLL = mean
            standardError = n > 1 ? (n / (n - 1) * spread).squareRoot() / total : 0
        }
        perplexity = Foundation.exp(meanNLL)
        perplexityError = perplexity * standardError
    }
}
