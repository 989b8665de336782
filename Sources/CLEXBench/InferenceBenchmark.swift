import CLEXModel
import CLEXTensor
import Foundation

/// `clex bench infer`: prefill and decode speed of a real model, each beside the bound that
/// applies to it, measured in the same run.
///
/// - Prefill (compute-bound): tokens/s reading T tokens into an empty session (logits of the last
///   row only, as generation asks), model FLOPs per token, and their product against raw
///   `cblas_sgemm` on the model's MLP shape (T×F×E): an MFU-like ratio.
/// - Decode (memory-bound): tokens/s generating one token at a time after a prefill to the
///   context, the bytes every step must read (all weight matrices once, in Float32, plus the
///   KV cache), and their product against a parallel memory copy: a bandwidth ratio. Given
///   quantised `DecodeWeights`, each context is decoded twice, Float32 and quantised, one step of
///   each in turn (so both see the same load), and the quantised row carries its speed-up.
public struct InferenceBenchmark {
    /// Prompt lengths of the prefill cases.
    public var prefillLengths: [Int]
    /// Contexts at which decoding is timed.
    public var decodeContexts: [Int]
    /// Tokens decoded per context (the rate is from their median step time).
    public var decodeTokens: Int
    /// Seconds of repeated calls for the baselines and the shorter prefills.
    public var minSeconds: Double

    /// The full benchmark (prefill 512 and 2048, decode at 128 and 2048; about a minute on two
    /// cores) or a quick pass for smoke tests.
    public init(quick: Bool) {
        prefillLengths = quick ? [64, 256] : [512, 2048]
        decodeContexts = quick ? [32, 256] : [128, 2048]
        decodeTokens = quick ? 8 : 64
        minSeconds = quick ? 0.05 : 0.5
    }

    /// Times `model` (with plain RoPE), reporting each row through `progress` as it completes;
    /// decoding also with `decodeWeights` when they hold quantised matrices.
    public func run(model: LlamaModel, modelName: String, decodeWeights: DecodeWeights? = nil,
                    progress: (InferenceReport.Row) -> Void) throws -> InferenceReport {
        let c = model.configuration
        var report = InferenceReport(model: modelName, parameters: c.parameterCount, blasCore: BLAS.coreName,
                                     threads: Parallel.threadCount, cpu: cpuModelName())
        let tokens = Self.tokens(count: (prefillLengths + decodeContexts).max()! + decodeTokens,
                                 vocabulary: c.vocabularySize)
        func session(_ capacity: Int, _ weights: DecodeWeights? = nil) -> InferenceSession {
            InferenceSession(model: model, capacity: capacity, rotary: InferenceSession.defaultRotary(c), decodeWeights: weights)
        }
        let quantized = decodeWeights.flatMap { $0.extraByteCount > 0 ? $0 : nil }
        // Warm-up: first touch of the weights and of every code path.
        for weights in [nil, quantized] {
            let warm = session(72, weights)
            _ = try warm.feed(Array(tokens[0..<64]), logits: .last)
            for t in tokens[64..<72] { _ = try warm.feed([t], logits: .last) }
        }

        let (copyTiming, copyRate) = Baselines.copyBandwidth(minSeconds: minSeconds)
        report.copyGBPerSecond = copyRate
        progress(.init(kind: "baseline", what: "parallel copy 64 MB", milliseconds: copyTiming.median * 1e3,
                       rate: copyRate, unit: "GB/s", ratio: nil, note: nil))

        for n in prefillLengths {
            let (gemmTiming, gemmRate) = Baselines.sgemmRate(m: n, n: c.intermediateSize, k: c.hiddenSize, minSeconds: minSeconds)
            let shape = "\(n)×\(c.intermediateSize)×\(c.hiddenSize)"
            progress(.init(kind: "baseline", what: "cblas_sgemm " + shape, milliseconds: gemmTiming.median * 1e3,
                           rate: gemmRate, unit: "GFLOP/s", ratio: nil, note: nil))
            let prompt = Array(tokens[0..<n])
            // Long prefills run twice (seconds each); short ones for minSeconds.
            let timing = Timing.measure(minSeconds: n >= 1024 ? 0 : minSeconds, minRuns: n >= 1024 ? 1 : 3) {
                _ = try? session(n).feed(prompt, logits: .last)
            }
            let flops = Self.prefillFLOPsPerToken(c, tokens: n)
            let rate = Double(n) / timing.median
            let result = InferenceReport.Prefill(tokens: n, seconds: timing.median, tokensPerSecond: rate,
                                                 gflopPerToken: flops / 1e9, gflopPerSecond: rate * flops / 1e9,
                                                 sgemmShape: shape, sgemmGFLOPPerSecond: gemmRate,
                                                 ratio: rate * flops / 1e9 / gemmRate)
            report.prefill.append(result)
            progress(.init(kind: "prefill", what: "\(n) tokens", milliseconds: timing.median * 1e3, rate: rate,
                           unit: "tok/s", ratio: result.ratio,
                           note: String(format: "%.3f GFLOP/token, %.1f GFLOP/s vs sgemm %@ %.1f",
                                        flops / 1e9, result.gflopPerSecond, shape, gemmRate)))
        }

        for context in decodeContexts {
            // F32 first, then the quantised weights; their steps alternate.
            let variants: [DecodeWeights] = [DecodeWeights(model: model)] + (quantized.map { [$0] } ?? [])
            let sessions = variants.map { session(context + decodeTokens, $0) }
            for s in sessions { _ = try s.feed(Array(tokens[0..<context]), logits: .last) }
            var steps = [[Double]](repeating: [], count: sessions.count)
            for t in tokens[context..<(context + decodeTokens)] {
                for (i, s) in sessions.enumerated() {
                    let t0 = Timing.now()
                    _ = try s.feed([t], logits: .last)
                    steps[i].append(Timing.now() - t0)
                }
            }
            var f32Rate = 0.0
            for (i, weights) in variants.enumerated() {
                let sorted = steps[i].sorted()
                let step = sorted[sorted.count / 2]
                let matrices = Self.decodeWeightBytes(c, weights: weights)
                let kv = Self.kvBytes(c, context: context + decodeTokens / 2)
                let rate = 1 / step
                if i == 0 { f32Rate = rate }
                let gbps = (matrices + kv) * rate / 1e9
                var result = InferenceReport.Decode(context: context, tokens: decodeTokens, secondsPerToken: step,
                                                    meanSecondsPerToken: sorted.reduce(0, +) / Double(sorted.count),
                                                    bestSecondsPerToken: sorted[0],
                                                    tokensPerSecond: rate, weightMB: matrices / 1e6, kvCacheMB: kv / 1e6,
                                                    gbPerSecond: gbps, copyGBPerSecond: copyRate, ratio: gbps / copyRate)
                result.weights = weights.summary
                if i > 0 { result.speedupOverF32 = rate / f32Rate }
                report.decode.append(result)
                let speedup = i > 0 ? String(format: "; %.2f× the F32 rate; %.0f MB held beside the F32 weights",
                                             rate / f32Rate, Double(weights.extraByteCount) / 1e6) : ""
                progress(.init(kind: "decode", what: "context \(context), \(weights.summary)", milliseconds: step * 1e3,
                               rate: rate, unit: "tok/s", ratio: result.ratio,
                               note: String(format: "%.0f MB weights + %.1f MB KV per token, %.1f GB/s vs copy %.1f; best step %.2f ms",
                                            matrices / 1e6, kv / 1e6, gbps, copyRate, sorted[0] * 1e3) + speedup))
            }
        }
        return report
    }

    /// Deterministic token ids spread over the vocabulary (speed does not depend on the text).
    static func tokens(count: Int, vocabulary: Int) -> [Int32] {
        var rng = SeededGenerator(seed: 11)
        return (0..<count).map { _ in Int32(rng.next() % UInt64(vocabulary)) }
    }

    /// FLOPs per token of a prefill of `tokens` tokens from an empty context: 2 per weight of the
    /// layers' matrices, the causal attention products (4·Hq·D per visible key, (T + 1)/2 keys
    /// on average), and the LM head once for the last row, shared by the T tokens.
    public static func prefillFLOPsPerToken(_ c: LlamaConfiguration, tokens: Int) -> Double {
        let attention = 4 * Double(c.headCount * c.headDimension) * Double(tokens + 1) / 2
        let head = 2 * Double(c.vocabularySize * c.hiddenSize) / Double(tokens)
        return Double(c.layerCount) * (2 * Double(layerMatrixWeights(c)) + attention) + head
    }

    /// Bytes of weights one decoding step reads with `weights`: its matrices as they are
    /// encoded, plus the Float32 norms and one embedding row.
    public static func decodeWeightBytes(_ c: LlamaConfiguration, weights: DecodeWeights) -> Double {
        Double(weights.byteCount) + 4 * Double((2 * c.layerCount + 2) * c.hiddenSize)
    }

    /// Bytes of cached keys and values read by one step at `context` tokens.
    public static func kvBytes(_ c: LlamaConfiguration, context: Int) -> Double {
        4 * 2 * Double(c.layerCount * context * c.keyValueHeadCount * c.headDimension)
    }

    static func layerMatrixWeights(_ c: LlamaConfiguration) -> Int {
        let (q, kv) = (c.headCount * c.headDimension, c.keyValueHeadCount * c.headDimension)
        return c.hiddenSize * (2 * q + 2 * kv) + 3 * c.hiddenSize * c.intermediateSize
    }
}

/// The results of `InferenceBenchmark`: printable as a table, saved as JSON.
public struct InferenceReport: Codable, Sendable {
    /// One prefill length.
    public struct Prefill: Codable, Sendable {
        public var tokens: Int
        /// Median seconds for the whole prefill.
        public var seconds: Double
        public var tokensPerSecond: Double
        /// Model FLOPs per token (see `InferenceBenchmark.prefillFLOPsPerToken`).
        public var gflopPerToken: Double
        public var gflopPerSecond: Double
        public var sgemmShape: String
        public var sgemmGFLOPPerSecond: Double
        /// gflopPerSecond ÷ sgemmGFLOPPerSecond: the MFU-like ratio.
        public var ratio: Double
    }

    /// One decoding context.
    public struct Decode: Codable, Sendable {
        /// Tokens in the cache before decoding starts.
        public var context: Int
        /// Tokens decoded.
        public var tokens: Int
        /// Median seconds per decoded token.
        public var secondsPerToken: Double
        public var meanSecondsPerToken: Double
        /// The fastest step (the least disturbed by other processes).
        public var bestSecondsPerToken: Double
        /// 1 / secondsPerToken.
        public var tokensPerSecond: Double
        /// MB of weights read per token.
        public var weightMB: Double
        /// MB of KV cache read per token (at the middle of the decoded span).
        public var kvCacheMB: Double
        /// (weights + KV) × tokens/s.
        public var gbPerSecond: Double
        public var copyGBPerSecond: Double
        /// gbPerSecond ÷ copyGBPerSecond: the bandwidth-bound ratio.
        public var ratio: Double
        /// The encodings of the matrices read (`DecodeWeights.summary`).
        public var weights = "F32"
        /// tokensPerSecond ÷ that of the Float32 weights in the same run (quantised rows only).
        public var speedupOverF32: Double?
    }

    /// A line of progress (baselines included).
    public struct Row: Sendable {
        public var kind: String
        public var what: String
        public var milliseconds: Double
        public var rate: Double
        public var unit: String
        public var ratio: Double?
        public var note: String?
    }

    public var model: String
    public var parameters: Int
    public var blasCore: String
    public var threads: Int
    public var cpu: String
    public var copyGBPerSecond: Double = 0
    public var prefill: [Prefill] = []
    public var decode: [Decode] = []

    /// Renders the results as aligned text tables.
    public func table() -> String {
        var lines = ["\(model) (\(parameters) parameters) · CPU: \(cpu) · OpenBLAS core \(blasCore) · \(threads) threads",
                     "",
                     pad("prefill", 16) + lpad("tok/s", 10) + lpad("GFLOP/tok", 11) + lpad("GFLOP/s", 10)
                         + "  " + pad("sgemm (same run)", 28) + lpad("ratio", 7)]
        for p in prefill {
            lines.append(pad("\(p.tokens) tokens", 16) + lpad(String(format: "%.1f", p.tokensPerSecond), 10)
                         + lpad(String(format: "%.3f", p.gflopPerToken), 11) + lpad(String(format: "%.1f", p.gflopPerSecond), 10)
                         + "  " + pad(String(format: "%@: %.1f GFLOP/s", p.sgemmShape, p.sgemmGFLOPPerSecond), 28)
                         + lpad(String(format: "%.2f", p.ratio), 7))
        }
        lines += ["",
                  pad("decode", 16) + lpad("tok/s", 10) + lpad("ms/tok", 9) + lpad("MB/tok", 9) + lpad("GB/s", 8)
                      + "  " + pad("copy (same run)", 16) + lpad("ratio", 7)]
        for d in decode {
            let label = "context \(d.context)" + (d.speedupOverF32 == nil ? "" : " quant")
            lines.append(pad(label, 16) + lpad(String(format: "%.1f", d.tokensPerSecond), 10)
                         + lpad(String(format: "%.2f", d.secondsPerToken * 1e3), 9)
                         + lpad(String(format: "%.0f", d.weightMB + d.kvCacheMB), 9)
                         + lpad(String(format: "%.1f", d.gbPerSecond), 8)
                         + "  " + pad(String(format: "%.1f GB/s", d.copyGBPerSecond), 16)
                         + lpad(String(format: "%.2f", d.ratio), 7)
                         + "  " + d.weights + (d.speedupOverF32.map { String(format: " (%.2f× F32)", $0) } ?? ""))
        }
        return lines.joined(separator: "\n")
    }

    /// Writes the report as JSON, atomically (temporary file, then rename).
    public func save(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }

    private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
    private func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? " " + s : String(repeating: " ", count: n - s.count) + s }
}
