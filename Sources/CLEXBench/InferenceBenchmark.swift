import CLEXFormats
import CLEXModel
import CLEXTensor
import Foundation

/// `clex bench infer`: prefill and decode speed of a real model over its stored weights (any
/// element type), each beside the bound that applies to it, measured in the same run, and the
/// process's peak resident memory.
///
/// - Prefill (compute-bound): tokens/s reading T tokens into an empty session (logits of the last
///   row only, as generation asks), model FLOPs per token, and their product against raw
///   `cblas_sgemm` on the model's MLP shape (T×F×E): an MFU-like ratio (quantised weights with
///   8-bit integer kernels can exceed it).
/// - Decode (memory-bound): tokens/s generating one token at a time after a prefill to the
///   context, the bytes every step must read (all weight matrices once, as stored, plus the
///   KV cache), and their product against a parallel memory copy: a bandwidth ratio.
public struct InferenceBenchmark {
    /// Prompt lengths of the prefill cases.
    public var prefillLengths: [Int]
    /// Contexts already cached before a prefill of the first prompt length is timed (llama-bench's
    /// `-d`): how prefill throughput holds up as the context grows.
    public var prefillDepths: [Int] = []
    /// Contexts at which decoding is timed.
    public var decodeContexts: [Int]
    /// Tokens decoded per context (the rate is from their median step time).
    public var decodeTokens: Int
    /// Seconds of repeated calls for the baselines and the shorter prefills.
    public var minSeconds: Double
    /// How activations meet quantised weights.
    public var precision: ActivationPrecision = .q8
    /// Element types of the KV cache.
    public var cacheTypes: KVCacheTypes = .f16

    /// The full benchmark (prefill 512 and 2048, decode at 128 and 2048; about a minute on two
    /// cores for a small model) or a quick pass for smoke tests.
    public init(quick: Bool) {
        prefillLengths = quick ? [64, 256] : [512, 2048]
        decodeContexts = quick ? [32, 256] : [128, 2048]
        decodeTokens = quick ? 8 : 64
        minSeconds = quick ? 0.05 : 0.5
    }

    /// Times `model` (with plain RoPE), reporting each row through `progress` as it completes.
    public func run(model: LlamaModel, modelName: String, progress: (InferenceReport.Row) -> Void) throws -> InferenceReport {
        let c = model.configuration
        var report = InferenceReport(model: modelName, parameters: c.parameterCount, blasCore: BLAS.coreName,
                                     threads: Parallel.threadCount, cpu: cpuModelName())
        report.weights = model.parameters.typeSummary
        report.kernels = Weight.kernelPath + ", activations " + precision.rawValue + ", KV cache " + cacheTypes.description
        let deepest = (prefillDepths.max() ?? 0) + prefillLengths[0]
        let tokens = Self.tokens(count: max((prefillLengths + decodeContexts + [deepest]).max()! + decodeTokens, 72),
                                 vocabulary: c.vocabularySize)
        func session(_ capacity: Int) throws -> InferenceSession {
            try InferenceSession(model: model, capacity: capacity, rotary: InferenceSession.defaultRotary(c), precision: precision,
                                 cacheTypes: cacheTypes)
        }
        // The baselines first, their buffers freed before the model runs: the peak resident set
        // reported is the model's (its load included), not theirs (128 MB of copy buffers, and
        // sgemm operands of up to 180 MB on a 7B shape).
        let loadPeak = peakResidentBytes()
        let (copyTiming, copyRate) = Baselines.copyBandwidth(minSeconds: minSeconds)
        report.copyGBPerSecond = copyRate
        progress(.init(kind: "baseline", what: "parallel copy 64 MB", milliseconds: copyTiming.median * 1e3,
                       rate: copyRate, unit: "GB/s", ratio: nil, note: nil))
        let gemmRates = prefillLengths.map { n in
            let (gemmTiming, gemmRate) = Baselines.sgemmRate(m: n, n: c.intermediateSize, k: c.hiddenSize, minSeconds: minSeconds)
            progress(.init(kind: "baseline", what: "cblas_sgemm \(n)×\(c.intermediateSize)×\(c.hiddenSize)",
                           milliseconds: gemmTiming.median * 1e3, rate: gemmRate, unit: "GFLOP/s", ratio: nil, note: nil))
            return gemmRate
        }
        let baselinesCounted = !resetPeakResidentBytes()

        // Warm-up: first touch of the weights and of every code path.
        let warm = try session(72)
        _ = try warm.feed(Array(tokens[0..<64]), logits: .last)
        for t in tokens[64..<72] { _ = try warm.feed([t], logits: .last) }

        for (n, gemmRate) in zip(prefillLengths, gemmRates) {
            let shape = "\(n)×\(c.intermediateSize)×\(c.hiddenSize)"
            let prompt = Array(tokens[0..<n])
            // A prefill of a second or more runs once after its warm-up; shorter ones for minSeconds.
            let t0 = Timing.now()
            _ = try session(n).feed(prompt, logits: .last)
            let long = Timing.now() - t0 > 1
            let timing = Timing.measure(minSeconds: long ? 0 : minSeconds, minRuns: long ? 1 : 3) {
                _ = try? session(n).feed(prompt, logits: .last)
            }
            let flops = Self.prefillFLOPsPerToken(c, tokens: n)
            let rate = Double(n) / timing.median
            let result = InferenceReport.Prefill(tokens: n, depth: 0, seconds: timing.median, tokensPerSecond: rate,
                                                 gflopPerToken: flops / 1e9, gflopPerSecond: rate * flops / 1e9,
                                                 sgemmShape: shape, sgemmGFLOPPerSecond: gemmRate,
                                                 ratio: rate * flops / 1e9 / gemmRate)
            report.prefill.append(result)
            progress(.init(kind: "prefill", what: "\(n) tokens", milliseconds: timing.median * 1e3, rate: rate,
                           unit: "tok/s", ratio: result.ratio,
                           note: String(format: "%.3f GFLOP/token, %.1f GFLOP/s vs sgemm %@ %.1f",
                                        flops / 1e9, result.gflopPerSecond, shape, gemmRate)))
        }

        for depth in prefillDepths {
            let n = prefillLengths[0]
            let s = try session(depth + n)
            try fill(s, with: Array(tokens[0..<depth]), progress: progress)
            let t0 = Timing.now()
            _ = try s.feed(Array(tokens[depth..<(depth + n)]), logits: .last)
            let seconds = Timing.now() - t0
            let flops = Self.prefillFLOPsPerToken(c, tokens: n, depth: depth)
            let rate = Double(n) / seconds
            let gemmRate = report.prefill.first { $0.tokens == n }?.sgemmGFLOPPerSecond ?? 0
            let result = InferenceReport.Prefill(tokens: n, depth: depth, seconds: seconds, tokensPerSecond: rate,
                                                 gflopPerToken: flops / 1e9, gflopPerSecond: rate * flops / 1e9,
                                                 sgemmShape: "\(n)×\(c.intermediateSize)×\(c.hiddenSize)",
                                                 sgemmGFLOPPerSecond: gemmRate,
                                                 ratio: gemmRate > 0 ? rate * flops / 1e9 / gemmRate : 0)
            report.prefill.append(result)
            progress(.init(kind: "prefill", what: "\(n) tokens at depth \(depth)", milliseconds: seconds * 1e3, rate: rate,
                           unit: "tok/s", ratio: result.ratio,
                           note: String(format: "%.3f GFLOP/token, %.1f GFLOP/s", flops / 1e9, result.gflopPerSecond)))
        }

        let matrices = Self.decodeWeightBytes(model)
        for context in decodeContexts {
            let s = try session(context + decodeTokens)
            try fill(s, with: Array(tokens[0..<context]), progress: progress)
            var steps: [Double] = []
            for t in tokens[context..<(context + decodeTokens)] {
                let t0 = Timing.now()
                _ = try s.feed([t], logits: .last)
                steps.append(Timing.now() - t0)
            }
            let sorted = steps.sorted()
            let step = sorted[sorted.count / 2]
            let kv = Self.kvBytes(c, context: context + decodeTokens / 2, types: cacheTypes)
            let rate = 1 / step
            let gbps = (matrices + kv) * rate / 1e9
            let result = InferenceReport.Decode(context: context, tokens: decodeTokens, secondsPerToken: step,
                                                meanSecondsPerToken: sorted.reduce(0, +) / Double(sorted.count),
                                                bestSecondsPerToken: sorted[0],
                                                tokensPerSecond: rate, weightMB: matrices / 1e6, kvCacheMB: kv / 1e6,
                                                gbPerSecond: gbps, copyGBPerSecond: copyRate, ratio: gbps / copyRate)
            report.decode.append(result)
            progress(.init(kind: "decode", what: "context \(context)", milliseconds: step * 1e3,
                           rate: rate, unit: "tok/s", ratio: result.ratio,
                           note: String(format: "%.0f MB weights + %.1f MB KV per token, %.1f GB/s vs copy %.1f; best step %.2f ms",
                                        matrices / 1e6, kv / 1e6, gbps, copyRate, sorted[0] * 1e3)))
        }
        report.peakResidentBytes = baselinesCounted ? peakResidentBytes() : max(loadPeak, peakResidentBytes())
        report.peakIncludesBaselines = baselinesCounted
        return report
    }

    /// Deterministic token ids spread over the vocabulary (speed does not depend on the text).
    /// Feeds the untimed context `tokens` to `session` in pieces of 2048, reporting a "filling"
    /// row (tokens so far, tokens/s, ETA) after each piece once it has run for 2 s: filling 16k
    /// tokens takes minutes on two cores.
    func fill(_ session: InferenceSession, with tokens: [Int32], progress: (InferenceReport.Row) -> Void) throws {
        let start = Timing.now()
        var done = 0
        while done < tokens.count {
            let end = min(tokens.count, done + 2048)
            _ = try session.feed(Array(tokens[done..<end]), logits: .last)
            done = end
            let elapsed = Timing.now() - start
            if elapsed > 2 && done < tokens.count {
                let rate = Double(done) / elapsed
                progress(.init(kind: "filling", what: "context \(done)/\(tokens.count)", milliseconds: elapsed * 1e3, rate: rate,
                               unit: "tok/s", ratio: nil,
                               note: String(format: "ETA %.0f s at this rate", Double(tokens.count - done) / rate)))
            }
        }
    }

    static func tokens(count: Int, vocabulary: Int) -> [Int32] {
        var rng = SeededGenerator(seed: 11)
        return (0..<count).map { _ in Int32(rng.next() % UInt64(vocabulary)) }
    }

    /// FLOPs per token of a prefill of `tokens` tokens after `depth` cached ones: 2 per weight of
    /// the layers' matrices, the causal attention products (4·Hq·D per visible key, depth +
    /// (T + 1)/2 keys on average), and the LM head once for the last row, shared by the T tokens.
    public static func prefillFLOPsPerToken(_ c: LlamaConfiguration, tokens: Int, depth: Int = 0) -> Double {
        let attention = 4 * Double(c.headCount * c.headDimension) * (Double(depth) + Double(tokens + 1) / 2)
        let head = 2 * Double(c.vocabularySize * c.hiddenSize) / Double(tokens)
        return Double(c.layerCount) * (2 * Double(layerMatrixWeights(c)) + attention) + head
    }

    /// Bytes of weights one decoding step reads: every matrix of the layers and the LM head as
    /// stored, the Float32 norms and one embedding row.
    public static func decodeWeightBytes(_ model: LlamaModel) -> Double {
        let p = model.parameters
        let c = model.configuration
        let layers = p.layers.reduce(0) { total, l in
            total + [l.query, l.key, l.value, l.output, l.gate, l.up, l.down].reduce(0) { $0 + $1.byteCount }
        }
        return Double(layers + p.head.byteCount + p.embedding.bytesPerRow) + 4 * Double((2 * c.layerCount + 2) * c.hiddenSize)
    }

    /// Bytes of cached keys and values (of `types`) read by one step at `context` tokens.
    public static func kvBytes(_ c: LlamaConfiguration, context: Int, types: KVCacheTypes) -> Double {
        Double(context) * Double(types.bytesPerToken(c))
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
        /// Tokens cached before this prefill.
        public var depth: Int
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
    /// The element types of the model's matrices, e.g. "Q4_0 ×154, Q6_K ×1".
    public var weights = ""
    /// The C kernels' instruction path.
    public var kernels = ""
    /// Peak resident memory of the process (bytes): loading the model and running it, without the
    /// baselines' buffers unless `peakIncludesBaselines`.
    public var peakResidentBytes = 0
    /// Whether `peakResidentBytes` also counts the baselines' buffers (the peak could not be reset
    /// after them).
    public var peakIncludesBaselines = false
    public var prefill: [Prefill] = []
    public var decode: [Decode] = []

    /// Renders the results as aligned text tables.
    public func table() -> String {
        var lines = ["\(model) (\(parameters) parameters; \(weights)) · CPU: \(cpu) · kernels \(kernels) · "
                        + "OpenBLAS core \(blasCore) · \(threads) threads · peak RSS "
                        + String(format: "%.2f GB", Double(peakResidentBytes) / 1e9)
                        + (peakIncludesBaselines ? " (with the baselines' buffers)" : ""),
                     "",
                     pad("prefill", 16) + lpad("tok/s", 10) + lpad("GFLOP/tok", 11) + lpad("GFLOP/s", 10)
                         + "  " + pad("sgemm (same run)", 28) + lpad("ratio", 7)]
        for p in prefill {
            lines.append(pad("\(p.tokens) tokens" + (p.depth > 0 ? " @\(p.depth)" : ""), 16) + lpad(String(format: "%.1f", p.tokensPerSecond), 10)
                         + lpad(String(format: "%.3f", p.gflopPerToken), 11) + lpad(String(format: "%.1f", p.gflopPerSecond), 10)
                         + "  " + pad(String(format: "%@: %.1f GFLOP/s", p.sgemmShape, p.sgemmGFLOPPerSecond), 28)
                         + lpad(String(format: "%.2f", p.ratio), 7))
        }
        lines += ["",
                  pad("decode", 16) + lpad("tok/s", 10) + lpad("ms/tok", 9) + lpad("MB/tok", 9) + lpad("GB/s", 8)
                      + "  " + pad("copy (same run)", 16) + lpad("ratio", 7)]
        for d in decode {
            let label = "context \(d.context)"
            lines.append(pad(label, 16) + lpad(String(format: "%.1f", d.tokensPerSecond), 10)
                         + lpad(String(format: "%.2f", d.secondsPerToken * 1e3), 9)
                         + lpad(String(format: "%.0f", d.weightMB + d.kvCacheMB), 9)
                         + lpad(String(format: "%.1f", d.gbPerSecond), 8)
                         + "  " + pad(String(format: "%.1f GB/s", d.copyGBPerSecond), 16)
                         + lpad(String(format: "%.2f", d.ratio), 7))
        }
        return lines.joined(separator: "\n")
    }

    /// Writes the report as JSON, atomically (temporary file, then rename).
    public func save(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFileWriter.write(try encoder.encode(self), to: url.path)
    }

    private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
    private func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? " " + s : String(repeating: " ", count: n - s.count) + s }
}
