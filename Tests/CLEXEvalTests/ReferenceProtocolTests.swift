import CLEXEval
import CLEXModel
import CLEXTensor
import Foundation
import Testing

/// The `reference` protocol against the CLEX reference's `calculate_perplexity` (train/utils.py)
/// written out here on the tape forward (no session or scorer code): per window, chunks of C
/// through a KV cache, each chunk one forward with the rotation of the chunk's end (which the
/// cached keys take too), chunk loss = mean NLL of chunk-local targets 1 … n_c−1, total =
/// Σ n_c·loss_c / Σ n_c. The model has one layer, so a chunk through such a cache is the rows of
/// the prefix computed from scratch with the chunk end's rotation. Tolerance 1e-5 relative as in
/// PerplexityProtocolTests (same kernels in other groupings, Float32 caches); a wrong rotation,
/// target set or weighting moves the mean by ≫ 1e-4 here (each checked below).
@Suite("reference perplexity protocol") struct ReferenceProtocolTests {
    let model = tinyModel(layers: 1)

    func session(_ positional: any PositionalMethod) -> (Int) throws -> InferenceSession {
        { try InferenceSession(model: model, capacity: $0, positional: positional, cacheTypes: .f32) }
    }

    /// CLEX with L = 12 and T = 4 (t = 2, 3, 4 at the ends of chunks of 16 in a window of 40).
    func clex() throws -> any PositionalMethod { try method(model, .clex(CLEXParameters(maxFactor: 4)), context: 12) }

    /// The reference's mean NLL over `windows` windows of `n` tokens in chunks of `c`, and the
    /// same with every chunk weighted equally per token (to show the weighting is visible).
    func literalPort(_ positional: any PositionalMethod, _ tokens: [Int32], n: Int, c: Int, windows: Int) throws
        -> (reference: Double, unweighted: Double) {
        var totalLoss = 0.0, totalTokens = 0.0, plainSum = 0.0, plainCount = 0.0
        for w in 0..<windows {
            let window = Array(tokens[(w * n)..<((w + 1) * n)])
            for i in stride(from: 0, to: n, by: c) {
                let chunk = Array(window[i..<min(i + c, n)])
                let end = i + chunk.count
                let tape = Tape()
                let inputs = try positional.inferenceInputs(positions: (0..<end).map(Float.init), contextLength: end, tape: tape)
                let logits = model.forward(tokens: Array(window[0..<end]), weights: model.weights(on: tape, trainable: false),
                                           positions: inputs).value.slice(rows: i..<end)
                let v = logits.shape[1]
                var chunkLoss = 0.0
                for j in 1..<chunk.count {   // labels = the chunk itself, shifted inside it
                    let row = (0..<v).map { Double(logits.pointer[(j - 1) * v + $0]) }
                    let m = row.max()!
                    let nll = Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) }) + m - row[Int(chunk[j])]
                    chunkLoss += nll
                    plainSum += nll
                    plainCount += 1
                }
                chunkLoss /= Double(chunk.count - 1)
                totalLoss += chunkLoss * Double(chunk.count)   // chunk_tokens: every token of the chunk
                totalTokens += Double(chunk.count)
            }
        }
        return (totalLoss / totalTokens, plainSum / plainCount)
    }

    @Test("the scored tokens: every index but each chunk's first; weight n_c / (n_c − 1)")
    func chunking() throws {
        let uneven = try ReferenceChunks(length: 10, chunk: 4)
        #expect(uneven.ranges == [0..<4, 4..<8, 8..<10])
        #expect(uneven.targets == [1, 2, 3, 5, 6, 7, 9])
        let four: [Double] = Array(repeating: 4.0 / 3, count: 6)
        #expect(uneven.weights == four + [2])
        #expect(uneven.scored(from: (1..<10).map(Double.init)) == [1, 2, 3, 5, 6, 7, 9])
        let whole = try ReferenceChunks(length: 6, chunk: 4096)
        #expect(whole.targets == [1, 2, 3, 4, 5] && whole.weights.allSatisfy { $0 == 6.0 / 5 })
        // a one-token chunk: the reference's loss is a mean over no target (NaN)
        #expect(throws: EvaluationError.self) { try ReferenceChunks(length: 9, chunk: 4) }
        #expect(throws: EvaluationError.self) { try ReferenceChunks(length: 8, chunk: 1) }
        #expect(throws: EvaluationError.self) { try ReferenceChunks(length: 1, chunk: 4) }
    }

    @Test("reference equals the literal port of calculate_perplexity on the tiny model", arguments: ["none", "clex"])
    func literal(scheme: String) throws {
        let positional = scheme == "clex" ? try clex() : try method(model)
        let n = 40, c = 16
        let tokens = randomTokens(2 * n + 3)
        let result = try PerplexityProtocol.reference(chunk: c).evaluate(tokens: tokens, length: n, makeSession: session(positional))
        let port = try literalPort(positional, tokens, n: n, c: c, windows: 2)
        #expect(result.windows == 2)
        #expect(result.tokens == 2 * (n - 3), "chunks 16, 16, 8: three first tokens unscored per window")
        #expect(abs(result.meanNLL - port.reference) <= 1e-5 * port.reference, "\(result.meanNLL) vs \(port.reference)")
        // measured 3.6e-5 (none) and 7.0e-5 (clex) relative: above twice the tolerance above
        #expect(abs(port.unweighted - port.reference) > 2e-5 * port.reference, "the last chunk's weight must be visible")
        #expect(result.protocolName == "reference" && result.protocolLabel.contains("chunks of 16"))
    }

    @Test("reference reads each chunk at the t of its end: it differs from the same scoring with our rotation, past L")
    func chunkEndRotation() throws {
        let positional = try clex()
        let n = 40
        let tokens = randomTokens(n)
        let reference = try PerplexityProtocol.reference(chunk: 16).evaluate(tokens: tokens, length: n, makeSession: session(positional))
        let chunking = try ReferenceChunks(length: n, chunk: 16)
        let ours = try WindowScorer.score(tokens, firstTarget: 1, feedSize: 16, session: try session(positional)(n))
        let oursScored = PerplexityMeasurement(protocol: .reference(chunk: 16), length: n, windows: 1,
                                               nll: chunking.scored(from: ours), weights: chunking.weights)
        #expect(oursScored.tokens == reference.tokens)
        #expect(abs(oursScored.meanNLL - reference.meanNLL) > 1e-4 * reference.meanNLL, "\(oursScored.meanNLL) vs \(reference.meanNLL)")
        // with plain RoPE the rotation never changes, so the scoring is all that differs
        let rope = try method(model)
        let ropeReference = try PerplexityProtocol.reference(chunk: 16).evaluate(tokens: tokens, length: n, makeSession: session(rope))
        let ropeOurs = try WindowScorer.score(tokens, firstTarget: 1, feedSize: 16, session: try session(rope)(n))
        let ropeScored = PerplexityMeasurement(protocol: .reference(chunk: 16), length: n, windows: 1,
                                               nll: chunking.scored(from: ropeOurs), weights: chunking.weights)
        #expect(abs(ropeScored.meanNLL - ropeReference.meanNLL) <= 1e-6 * ropeReference.meanNLL)
    }

    @Test("one chunk (C ≥ n) is the reference's model(input_ids) on the window: chunks under single prefill")
    func oneChunk() throws {
        let positional = try clex()
        let n = 40
        let tokens = randomTokens(2 * n)
        let reference = try PerplexityProtocol.reference(chunk: 4096).evaluate(tokens: tokens, length: n, makeSession: session(positional))
        let single = try PerplexityProtocol.chunks.evaluate(tokens: tokens, length: n, feedLimit: 7, prefill: .single,
                                                           makeSession: session(positional))
        let split = try PerplexityProtocol.chunks.evaluate(tokens: tokens, length: n, feedLimit: 7, makeSession: session(positional))
        var bruteForce: [Double] = []   // one forward per window with the rotation of n
        for w in 0..<2 { bruteForce += try bruteForceNLL(model, positional, Array(tokens[(w * n)..<((w + 1) * n)])) }
        let mean = bruteForce.reduce(0, +) / Double(bruteForce.count)
        #expect(reference.tokens == 2 * (n - 1) && single.tokens == reference.tokens)
        #expect(abs(reference.meanNLL - single.meanNLL) <= 1e-9 * single.meanNLL)
        #expect(abs(single.meanNLL - mean) <= 1e-5 * mean)
        #expect(abs(split.meanNLL - mean) > 1e-4 * mean, "split gives each token its own context's t")
    }

    @Test("the weighted standard error reduces to √(s²/N) for equal weights")
    func weightedError() {
        let nll: [Double] = [1, 2, 3, 4, 0.5]
        let plain = PerplexityMeasurement(protocol: .chunks, length: 6, windows: 1, nll: nll)
        let equal = PerplexityMeasurement(protocol: .chunks, length: 6, windows: 1, nll: nll, weights: Array(repeating: 1.25, count: 5))
        #expect(abs(equal.meanNLL - plain.meanNLL) < 1e-12 && abs(equal.standardError - plain.standardError) < 1e-12)
        let tilted = PerplexityMeasurement(protocol: .chunks, length: 6, windows: 1, nll: nll, weights: [1, 1, 1, 1, 3])
        #expect(abs(tilted.meanNLL - 11.5 / 7) < 1e-12)
    }

    @Test("a run refuses a length the reference would score as NaN, and labels single prefill for the other protocols")
    func runChecks() throws {
        let methods = [EvaluationMethod(name: "clex") { try self.clex() }]
        let bad = PerplexityRun(model: model, methods: methods, lengths: [16, 17], scoring: .reference(chunk: 8))
        #expect(throws: EvaluationError.self) { try bad.validate() }
        let text = EvaluationText(tokens: randomTokens(48))
        let single = try PerplexityRun(model: model, methods: methods, lengths: [24], scoring: .chunks, prefill: .single).run(text: text)
        #expect(single.protocolLabel.contains("[prefill single: one rotation per forward of a window, that of its end]"))
        let cached = try PerplexityRun(model: model, methods: methods, lengths: [24], scoring: .cached(chunk: 8), prefill: .single).run(text: text)
        #expect(cached.protocolLabel.contains("forward of a chunk"))
        let reference = try PerplexityRun(model: model, methods: methods, lengths: [24], scoring: .reference(chunk: 8)).run(text: text)
        #expect(!reference.protocolLabel.contains("prefill single") && reference.protocolLabel.contains("calculate_perplexity"))
        #expect(try PerplexityProtocol(name: "reference", chunk: 256) == .reference(chunk: 256))
        #expect(PerplexityProtocol.reference(chunk: 8).prefillRotation(.split) == .single)
        #expect(PerplexityProtocol.cached(chunk: 8).prefillRotation(.split) == .split)
    }
}
