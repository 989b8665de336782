import CLEXEval
import CLEXModel
import CLEXTensor
import Foundation
import Testing

/// The four protocols on a tiny random model. Tolerances: the session and the brute force run
/// the same Float32 kernels in different groupings (cached attention in pieces vs one pass), so
/// per-token NLLs agree to ~1e-6 relative; 1e-5 on the mean leaves headroom without hiding a
/// wrong row or target (which moves the mean by ≫ 1e-3 on this model).
@Suite("perplexity protocols") struct PerplexityProtocolTests {
    let model = tinyModel()

    func session(_ positional: any PositionalMethod) -> (Int) throws -> InferenceSession {
        { try InferenceSession(model: model, capacity: $0, positional: positional) }
    }

    @Test("chunks equals a brute-force recomputation without the cache, window by window")
    func chunksBruteForce() throws {
        let rope = try method(model)
        let n = 24
        let tokens = randomTokens(3 * n + 5)
        let result = try PerplexityProtocol.chunks.evaluate(tokens: tokens, length: n, feedLimit: 5, makeSession: session(rope))
        var nll: [Double] = []
        for w in 0..<3 { nll += try bruteForceNLL(model, rope, Array(tokens[(w * n)..<((w + 1) * n)])) }
        let mean = nll.reduce(0, +) / Double(nll.count)
        #expect(result.windows == 3)
        #expect(result.tokens == 3 * (n - 1))
        #expect(abs(result.meanNLL - mean) <= 1e-5 * abs(mean), "\(result.meanNLL) vs \(mean)")
        #expect(abs(result.perplexity - Foundation.exp(mean)) <= 1e-4 * Foundation.exp(mean))
        #expect(result.protocolName == "chunks")
    }

    @Test("cached: feeding chunks of C < n equals one-shot feeding, also when the rotation changes inside the window",
          arguments: ["none", "dynamic", "clex"])
    func cachedChunking(scheme: String) throws {
        let positional: any PositionalMethod
        switch scheme {
        case "dynamic": positional = try method(model, .dynamic(factor: 2), context: 12)
        case "clex": positional = try method(model, .clex(CLEXParameters(maxFactor: 4)), context: 12)
        default: positional = try method(model)
        }
        let n = 40
        let tokens = randomTokens(2 * n)
        let oneShot = try PerplexityProtocol.cached(chunk: n).evaluate(tokens: tokens, length: n, makeSession: session(positional))
        for c in [1, 7, 16] {
            let chunked = try PerplexityProtocol.cached(chunk: c).evaluate(tokens: tokens, length: n, makeSession: session(positional))
            #expect(chunked.tokens == oneShot.tokens && chunked.tokens == 2 * (n - 1))
            #expect(abs(chunked.meanNLL - oneShot.meanNLL) <= 1e-5 * oneShot.meanNLL, "\(scheme) C=\(c): \(chunked.meanNLL) vs \(oneShot.meanNLL)")
        }
        #expect(oneShot.protocolLabel.contains("cached chunks of \(n)"))
    }

    @Test("sliding with stride n equals chunks; a smaller stride scores every token once")
    func sliding() throws {
        let rope = try method(model)
        let n = 16
        let tokens = randomTokens(70)
        let chunks = try PerplexityProtocol.chunks.evaluate(tokens: tokens, length: n, feedLimit: 6, makeSession: session(rope))
        let same = try PerplexityProtocol.sliding(stride: n).evaluate(tokens: tokens, length: n, feedLimit: 6, makeSession: session(rope))
        #expect(same.tokens == chunks.tokens && same.windows == chunks.windows)
        #expect(same.meanNLL == chunks.meanNLL && same.standardError == chunks.standardError)

        // Stride 5: windows at 0, 5, …, 50 (start + 16 ≤ 70); 15 tokens, then 5 new ones each.
        let plan = try PerplexityProtocol.sliding(stride: 5).windows(tokenCount: 70, length: n)
        #expect(plan.count == 11)
        #expect(plan.map(\.firstTarget) == [1] + Array(repeating: 11, count: 10))
        var scored = Set<Int>()
        for w in plan { for j in w.firstTarget..<w.length { #expect(scored.insert(w.start + j).inserted) } }
        #expect(scored == Set(1..<66))
        let strided = try PerplexityProtocol.sliding(stride: 5).evaluate(tokens: tokens, length: n, makeSession: session(rope))
        #expect(strided.tokens == 15 + 10 * 5)
    }

    @Test("llama.cpp-style scores exactly tokens n/2+1 … n−1 of each window (logits from position n/2), BOS first",
          arguments: [24, 25])
    func llamaCpp(n: Int) throws {
        let rope = try method(model)
        let tokens = randomTokens(3 * n)
        let plain = try PerplexityProtocol.llamaCpp.evaluate(tokens: tokens, length: n, bos: nil, makeSession: session(rope))
        #expect(plain.windows == 3)
        #expect(plain.tokens == 3 * (n - 1 - n / 2))
        #expect(plain.protocolLabel.contains("llama.cpp-style"))
        #expect(PerplexityProtocol.llamaCpp.label.contains("llama.cpp-style"))

        // Without BOS the scored NLLs are the second half of the full window's.
        let window = Array(tokens[0..<n])
        let all = try WindowScorer.score(window, firstTarget: 1, feedSize: 5, session: try session(rope)(n))
        let half = try WindowScorer.score(window, firstTarget: n / 2 + 1, feedSize: 5, session: try session(rope)(n))
        #expect(half.count == n - 1 - n / 2)
        for (a, b) in zip(half, all.suffix(half.count)) { #expect(abs(a - b) <= 1e-6 * max(abs(b), 1)) }

        // With BOS the first token is replaced, which changes the scored tokens' context.
        let bos: Int32 = 60
        let withBOS = try PerplexityProtocol.llamaCpp.evaluate(tokens: tokens, length: n, bos: bos, makeSession: session(rope))
        #expect(withBOS.tokens == plain.tokens && withBOS.meanNLL != plain.meanNLL)
        let plan = try PerplexityProtocol.llamaCpp.windows(tokenCount: tokens.count, length: n)
        #expect(plan[1].tokens(from: tokens, bos: bos) == [bos] + tokens[(n + 1)..<(2 * n)])
    }

    @Test("token counts, window caps and refusals")
    func counts() throws {
        let plan = try PerplexityProtocol.chunks.windows(tokenCount: 100, length: 30)
        #expect(plan.map(\.start) == [0, 30, 60] && plan.allSatisfy { $0.scoredCount == 29 })
        #expect(try PerplexityProtocol.cached(chunk: 8).windows(tokenCount: 100, length: 30, maxWindows: 2).count == 2)
        #expect(PerplexityProtocol.cached(chunk: 4096).feedSize(length: 1000, feedLimit: 64) == 1000)
        #expect(PerplexityProtocol.cached(chunk: 256).feedSize(length: 1000, feedLimit: 64) == 256)
        #expect(PerplexityProtocol.chunks.feedSize(length: 100_000, feedLimit: 1024) == 1024)
        #expect(throws: EvaluationError.self) { try PerplexityProtocol.chunks.windows(tokenCount: 100, length: 1) }
        #expect(throws: EvaluationError.self) { try PerplexityProtocol.sliding(stride: 40).windows(tokenCount: 100, length: 30) }
        #expect(throws: EvaluationError.self) { try PerplexityProtocol(name: "wiki") }
        #expect(throws: EvaluationError.self) { try PerplexityProtocol(name: "cached", chunk: 0) }
        #expect(try PerplexityProtocol(name: "sliding", stride: 7) == .sliding(stride: 7))
        let rope = try method(model)
        #expect(throws: EvaluationError.self) {
            try PerplexityProtocol.chunks.evaluate(tokens: randomTokens(10), length: 16, makeSession: session(rope))
        }
    }

    @Test("standard error: √(s²/N) with the sample variance, equal to llama.cpp's √((⟨x²⟩ − ⟨x⟩²)/(N − 1))")
    func standardError() {
        let nll: [Double] = [1, 2, 3, 4, 0.5]
        let m = PerplexityMeasurement(protocol: .chunks, length: 6, windows: 1, nll: nll)
        let n = Double(nll.count)
        let mean = nll.reduce(0, +) / n
        let sample = nll.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        let llamaCpp = ((nll.reduce(0) { $0 + $1 * $1 } / n - mean * mean) / (n - 1)).squareRoot()
        #expect(m.tokens == 5)
        #expect(abs(m.meanNLL - 2.1) < 1e-12)
        #expect(abs(m.standardError - (sample / n).squareRoot()) < 1e-12)
        #expect(abs(m.standardError - llamaCpp) < 1e-12)
        #expect(abs(m.perplexity - Foundation.exp(2.1)) < 1e-9)
        #expect(abs(m.perplexityError - m.perplexity * m.standardError) < 1e-9)
    }
}
