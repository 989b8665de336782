import CLEXTensor
import Foundation

/// Token-weighted perplexity with its standard error, under a stated protocol.
public struct PerplexityResult: Sendable, Codable {
    /// How tokens were windowed and which were scored.
    public var protocolName: String
    /// Window length in tokens.
    public var length: Int
    /// Number of scored tokens.
    public var tokens: Int
    /// Mean negative log-likelihood (nats per token).
    public var meanNLL: Double
    /// Standard error of `meanNLL`.
    public var standardError: Double
    /// exp(meanNLL).
    public var perplexity: Double { Foundation.exp(meanNLL) }
    /// Standard error of the perplexity (delta method: PPL · SE(NLL), as llama.cpp prints).
    public var perplexityError: Double { perplexity * standardError }

    /// Summary statistics of per-token NLLs.
    public init(protocolName: String, length: Int, nll: [Double]) {
        self.protocolName = protocolName
        self.length = length
        tokens = nll.count
        let mean = nll.reduce(0, +) / Double(max(nll.count, 1))
        meanNLL = mean
        let variance = nll.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(nll.count - 1, 1))
        standardError = (variance / Double(max(nll.count, 1))).squareRoot()
    }
}

/// Perplexity protocols of ../shared/spec/evaluation.md.
public enum Perplexity {
    /// "chunks": the text is cut into non-overlapping windows of `length` tokens (a shorter tail
    /// is dropped); each window is read from an empty context and every token after its first is
    /// scored (the first has nothing to condition on).
    public static func chunks(tokens: [Int32], length: Int, windows maxWindows: Int? = nil,
                              session makeSession: () throws -> InferenceSession) throws -> PerplexityResult {
        var nll: [Double] = []
        let count = min(tokens.count / length, maxWindows ?? Int.max)
        for w in 0..<count {
            let window = Array(tokens[(w * length)..<((w + 1) * length)])
            let session = try makeSession()
            let logits = try session.feed(window)
            let scored = Ops.crossEntropy(logits.slice(rows: 0..<(length - 1)), targets: Array(window.dropFirst()))
            nll += scored.perRow.scalars.map(Double.init)
        }
        return PerplexityResult(protocolName: "chunks of \(length), every token after the first scored", length: length, nll: nll)
    }
}
