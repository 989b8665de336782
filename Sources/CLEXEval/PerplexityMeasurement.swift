import CLEXModel

/// The perplexity of one context length under one protocol: token-weighted mean NLL, PPL, their
/// standard errors (those of `PerplexityResult`) and how many windows and tokens it covers.
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
    /// Mean negative log-likelihood (nats per token).
    public var meanNLL: Double
    /// Standard error of `meanNLL`: √(s² / N) with the sample variance s² (the same number as
    /// llama.cpp's √((⟨x²⟩ − ⟨x⟩²) / (N − 1))).
    public var standardError: Double
    /// exp(meanNLL).
    public var perplexity: Double
    /// PPL · SE(NLL) (delta method; llama.cpp's "PPL = X +/- σ").
    public var perplexityError: Double

    /// The measurement of the scored NLLs `nll` over `windows` windows.
    public init(protocol p: PerplexityProtocol, length: Int, windows: Int, nll: [Double]) {
        let result = PerplexityResult(protocolName: p.label, length: length, nll: nll)
        protocolName = p.name
        protocolLabel = p.label
        self.length = length
        self.windows = windows
        tokens = result.tokens
        meanNLL = result.meanNLL
        standardError = result.standardError
        perplexity = result.perplexity
        perplexityError = result.perplexityError
    }
}
