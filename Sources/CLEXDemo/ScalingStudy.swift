import CLEXEval
import CLEXTrain
import Foundation

/// `clex demo --study scaling`: the paper's scaling observation at CPU scale. The paper reports
/// that CLEX's extrapolation ratio (`extrapolationRatio`) grows with model size and with training
/// length together (Chen et al. 2024, §4.3). For every model size × training length L, the demo's
/// stages (`DemoPlan`: plain-RoPE pretraining at L, then PI, YaRN and CLEX continuations, all
/// with factor T) run in their own folder — finished stages are reused, an interrupted one resumes
/// — and every method's ratio is read from its perplexity at L … 16L.
public struct ScalingStudy: Sendable {
    /// Model sizes, smallest first.
    public var sizes: [ModelPreset]
    /// Training lengths L.
    public var windows: [Int]
    /// PI's and YaRN's factor and CLEX's T.
    public var factor: Int
    /// Tokens per optimiser step (the batch is this ÷ L).
    public var tokensPerStep: Int
    /// Pretraining and continuation steps of each size.
    public var steps: [ModelPreset: (base: Int, continuation: Int)]
    /// Peak learning rates of each size (pretraining, continuation).
    public var learningRates: [ModelPreset: (base: Float, continuation: Float)]
    /// Evaluation windows per length at most.
    public var maxWindows: Int
    /// Plays held out for evaluation (Shakespeare), as in the demo.
    public var heldOut: [String]

    /// The study (about 2 hours on 2 cores: training runs at 7–11k tokens/s for tiny, 0.9–1.4k for
    /// small, measured 2026-12-07): tiny and small presets at L = 64 and 128, T = 16,
    /// 4096 tokens per step; the tiny preset with the demo's budget, the small one (8× the
    /// compute per token) with fewer steps at a lower rate.
    public static let standard = ScalingStudy(
        sizes: [.tiny, .small], windows: [64, 128], factor: 16, tokensPerStep: 4096,
        steps: [.tiny: (360, 200), .small: (200, 120)], learningRates: [.tiny: (3e-3, 1e-3), .small: (1.5e-3, 5e-4)],
        maxWindows: 12, heldOut: DemoPlan.standard.heldOut)

    /// A smoke run: tiny budgets, one size, two short windows (seconds).
    public static let quick = ScalingStudy(
        sizes: [.tiny], windows: [16, 32], factor: 4, tokensPerStep: 128,
        steps: [.tiny: (8, 4)], learningRates: [.tiny: (3e-3, 1e-3)], maxWindows: 1, heldOut: ["macbeth"])

    /// The demo plan of one cell: `size` trained at `window`, standard recipe, PI, YaRN and CLEX
    /// continued on sequences of L, perplexity at L … 16L (no ALiBi, no passkey).
    public func plan(size: ModelPreset, window: Int) -> DemoPlan {
        var p = DemoPlan(window: window, batch: max(tokensPerStep / window, 1), continueLength: window,
                         baseSteps: steps[size]!.base, continueSteps: steps[size]!.continuation,
                         baseLearningRate: learningRates[size]!.base, continueLearningRate: learningRates[size]!.continuation,
                         factor: factor, multiples: [1, 2, 4, 8, 16], maxWindows: maxWindows, heldOut: heldOut,
                         passkeyDepths: [], passkeyTrials: 0)
        p.preset = size
        p.recipes = [.standard]
        p.continued = ["PI", "YaRN", "CLEX"]
        p.trainsALiBi = false
        return p
    }

    /// Runs every cell into `output/<size>-L<window>` and returns the study's report.
    public func run(texts: String, output: String, log: @escaping (String) -> Void) throws -> ScalingReport {
        var rows: [ScalingReport.Row] = []
        for size in sizes {
            for window in windows {
                let folder = (output as NSString).appendingPathComponent("\(size.rawValue)-L\(window)")
                log("scaling: \(size.rawValue) preset at L = \(window)")
                let results = try DemoRunner(plan: plan(size: size, window: window), texts: texts, output: folder, log: log).run()
                let report = results.perplexity
                let parameters = size.configuration(vocabularySize: 257, context: window, eosTokenID: 256).parameterCount
                for method in report.methods {
                    rows.append(ScalingReport.Row(
                        size: size.rawValue, parameters: parameters, window: window, method: method,
                        ratio: extrapolationRatio(report, method: method, trainingLength: window),
                        perplexities: report.lengths.map { report.cell(method: method, length: $0)?.measurement?.perplexity }))
                }
            }
        }
        return ScalingReport(factor: factor, multiples: [1, 2, 4, 8, 16], rows: rows)
    }
}

/// The scaling study's results: one row per (size, L, method), printed as a table, saved as JSON,
/// plotted as SVG (`ScalingPlot`).
public struct ScalingReport: Sendable, Codable {
    public struct Row: Sendable, Codable {
        public var size: String
        public var parameters: Int
        public var window: Int
        public var method: String
        /// The extrapolation ratio (nil without a perplexity at L).
        public var ratio: Double?
        /// Perplexity at each multiple of L (nil where not measured).
        public var perplexities: [Double?]
    }

    /// PI's and YaRN's factor and CLEX's T.
    public var factor: Int
    /// The evaluated lengths as multiples of L.
    public var multiples: [Int]
    public var rows: [Row]

    /// The table: size, parameters, L, method, ratio, then perplexity at each multiple.
    public func table() -> String {
        var lines = [["size", "parameters", "L", "method", "ratio"] + multiples.map { $0 == 1 ? "L" : "\($0)L" }]
        for r in rows {
            lines.append([r.size, "\(r.parameters)", "\(r.window)", r.method, r.ratio.map { String(format: "%.0f", $0) } ?? "n/a"]
                         + r.perplexities.map { $0.map { String(format: "%.2f", $0) } ?? "n/a" })
        }
        return TextTable.render(lines)
    }

    /// The plot: one line per (method, size) over L.
    public func plot() -> ScalingPlot {
        var series: [ScalingPlot.Series] = []
        for method in rows.map(\.method).uniqued() {
            for size in rows.map(\.size).uniqued() {
                let points = rows.filter { $0.method == method && $0.size == size }.compactMap { r in r.ratio.map { (r.window, $0) } }
                if !points.isEmpty { series.append(ScalingPlot.Series(label: "\(method) · \(size)", points: points)) }
            }
        }
        return ScalingPlot(title: "Extrapolation ratio vs training length (factor \(factor))", series: series)
    }

    /// Writes scaling.json, scaling.svg and scaling.md into `directory` (created when missing),
    /// each atomically; returns the paths. `wallTime` is how long the study took
    /// (`RunTime.description`).
    @discardableResult
    public func save(to directory: String, command: String, wallTime: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let paths = ["scaling.json", "scaling.svg", "scaling.md"].map { (directory as NSString).appendingPathComponent($0) }
        try ReportFile.write(try ReportFile.json(self), to: paths[0])
        try ReportFile.write(plot().svg(), to: paths[1])
        try ReportFile.write("""
            # Scaling study: extrapolation ratio by model size and training length

            `\(command)`, \(wallTime). Ratio: the longest length whose perplexity stays within 1.05× of
            the perplexity at L (every length up to it too), divided by L; perplexity on held-out plays.

            ```
            \(table())
            ```

            ![extrapolation ratio](scaling.svg)
            """, to: paths[2])
        return paths
    }
}

extension Array where Element: Hashable {
    /// The elements in order, each once.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
