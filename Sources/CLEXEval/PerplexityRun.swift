import CLEXModel
import Foundation

/// A perplexity evaluation: every method at every context length over one token stream, under
/// one protocol. A method that cannot be made or cannot serve a length (CLEX past T·L) gives an
/// "n/a (reason)" cell instead of stopping the run.
public struct PerplexityRun {
    /// The model (its weights; the positional method comes from each `EvaluationMethod`).
    public var model: LlamaModel
    /// Methods, in table order.
    public var methods: [EvaluationMethod]
    /// Context lengths (each ≥ 2), in column order.
    public var lengths: [Int]
    /// The protocol.
    public var scoring: PerplexityProtocol
    /// At most this many windows per length (nil: every whole window of the text).
    public var maxWindows: Int?
    /// BOS id that the llama.cpp-style protocol puts first in every window (nil: the first token
    /// stays, as llama.cpp does when the vocabulary's `add_bos_token` is false); the report's
    /// protocol label says which.
    public var bos: Int32?
    /// Tokens per `feed` call for protocols other than `cached` and `reference` (under `split`).
    public var feedLimit: Int
    /// The rotation windows are read with (`PerplexityProtocol.evaluate`'s `prefill`): ours
    /// (`split`) or the reference's one rotation per forward (`single`); `reference` always
    /// uses `single`. The report's protocol label says when `single` was asked for.
    public var prefill: PrefillRotation
    /// Name of the checkpoint, for the report.
    public var modelName: String
    /// Training length to mark on the plot.
    public var trainingLength: Int?
    /// Element types of the sessions' KV caches.
    public var cacheTypes: KVCacheTypes

    /// A run; see the properties.
    public init(model: LlamaModel, methods: [EvaluationMethod], lengths: [Int], scoring: PerplexityProtocol,
                maxWindows: Int? = nil, bos: Int32? = nil, feedLimit: Int = 1024, prefill: PrefillRotation = .split,
                modelName: String = "model", trainingLength: Int? = nil, cacheTypes: KVCacheTypes = .f16) {
        self.cacheTypes = cacheTypes
        self.model = model
        self.methods = methods
        self.lengths = lengths
        self.scoring = scoring
        self.maxWindows = maxWindows
        self.bos = bos
        self.feedLimit = feedLimit
        self.prefill = prefill
        self.modelName = modelName
        self.trainingLength = trainingLength
    }

    /// Checks lengths, windows and protocol settings.
    public func validate() throws {
        guard !methods.isEmpty else { throw EvaluationError("no positional method to evaluate") }
        guard !lengths.isEmpty else { throw EvaluationError("no context length to evaluate") }
        if let bad = lengths.first(where: { $0 < 2 }) { throw EvaluationError("a context length must be at least 2 tokens, got \(bad)") }
        if let w = maxWindows, w < 1 { throw EvaluationError("the number of windows per length must be at least 1, got \(w)") }
        guard feedLimit >= 1 else { throw EvaluationError("the feed limit must be at least 1 token, got \(feedLimit)") }
        try scoring.validate()
        if let s = scoring.stride, let n = lengths.first(where: { $0 < s }) {
            throw EvaluationError("the sliding-window stride (\(s)) must not exceed a context length (\(n))")
        }
        if case .reference(let c) = scoring { for n in lengths { _ = try ReferenceChunks(length: n, chunk: c) } }
    }

    /// Evaluates every (method, length) over `text`, calling `progress` after every fed piece.
    /// When `shouldStop` answers true (asked after every fed piece), the cell in progress and those
    /// after it are reported as not run and the report is marked partial.
    public func run(text: EvaluationText, progress: (EvaluationProgress) -> Void = { _ in },
                    shouldStop: () -> Bool = { false }) throws -> PerplexityReport {
        try validate()
        let windows = try lengths.map { try scoring.windows(tokenCount: text.tokens.count, length: $0, maxWindows: maxWindows).count }
        let perMethod = zip(lengths, windows).reduce(0) { $0 + $1.0 * $1.1 }
        let total = perMethod * methods.count
        let clock = ContinuousClock()
        let started = clock.now
        func seconds(since t: ContinuousClock.Instant) -> Double {
            let d = clock.now - t
            return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        var done = 0
        var cells: [PerplexityCell] = []
        var stopped = false
        for method in methods {
            for (n, count) in zip(lengths, windows) {
                let cellStart = clock.now
                var cell = PerplexityCell(method: method.name, length: n, measurement: nil, failure: nil, seconds: 0)
                if stopped {
                    cell.failure = notRunBecauseInterrupted
                    cells.append(cell)
                    continue
                }
                do {
                    let positional = try method.make()
                    _ = try positional.inference(contextLength: n)   // fail fast for a length it refuses
                    cell.measurement = try scoring.evaluate(
                        tokens: text.tokens, length: n, maxWindows: maxWindows, bos: bos, feedLimit: feedLimit,
                        prefill: prefill,
                        makeSession: { try InferenceSession(model: model, capacity: $0, positional: positional, cacheTypes: cacheTypes) },
                        onFeed: { fed in
                            if shouldStop() { throw EvaluationStopped() }
                            progress(EvaluationProgress(method: method.name, length: n, item: min((fed - 1) / n + 1, count), items: count,
                                                        itemName: "window", tokensDone: done + fed, tokensTotal: total,
                                                        elapsed: seconds(since: started)))
                        })
                } catch is EvaluationStopped {
                    stopped = true
                    cell.failure = notRunBecauseInterrupted
                } catch {
                    cell.failure = String(describing: error)
                }
                done += n * count
                cell.seconds = seconds(since: cellStart)
                cells.append(cell)
            }
        }
        var label = scoring.label
        if scoring == .llamaCpp {
            label += bos.map { " [BOS id \($0)]" } ?? " [first token kept: no BOS given, as llama.cpp when the vocabulary does not add one]"
        }
        if prefill == .single && scoring.prefillRotation(.split) == .split {
            label += " [prefill single: one rotation per forward of a \(scoring.chunk == nil ? "window" : "chunk"), that of its end]"
        }
        var report = PerplexityReport(model: modelName, protocolName: scoring.name, protocolLabel: label,
                                stride: scoring.stride, chunk: scoring.chunk, texts: text.files, textTokens: text.tokens.count,
                                lengths: lengths, methods: methods.map(\.name), windows: windows, maxWindows: maxWindows,
                                trainingLength: trainingLength, cells: cells)
        if stopped { report.partial = true }
        return report
    }
}
