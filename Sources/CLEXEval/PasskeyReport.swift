import Foundation

/// One trial of a retrieval task.
public struct PasskeyTrial: Sendable, Codable, Equatable {
    /// The method's name.
    public var method: String
    /// Target prompt length in tokens.
    public var length: Int
    /// Depth of the asked needle (fraction of the filler before it).
    public var depth: Double
    /// Index of the trial in its cell (0-based).
    public var trial: Int
    /// Tokens of the prompt.
    public var promptTokens: Int
    /// The number asked for.
    public var expected: Int
    /// The greedy generation.
    public var output: String
    /// The first integer of `output` (nil: none, a wrong answer).
    public var answer: Int?
    /// Whether `answer == expected`.
    public var correct: Bool
    /// Why the trial could not run (then it does not count).
    public var failure: String?

    /// A trial record (see the properties).
    public init(method: String, length: Int, depth: Double, trial: Int, promptTokens: Int, expected: Int, output: String,
                answer: Int?, correct: Bool, failure: String?) {
        self.method = method
        self.length = length
        self.depth = depth
        self.trial = trial
        self.promptTokens = promptTokens
        self.expected = expected
        self.output = output
        self.answer = answer
        self.correct = correct
        self.failure = failure
    }
}

/// Accuracy of one (method, length, depth) cell.
public struct PasskeyCell: Sendable, Codable, Equatable {
    /// The method's name.
    public var method: String
    /// Target prompt length in tokens.
    public var length: Int
    /// Depth of the asked needle.
    public var depth: Double
    /// Trials that ran.
    public var trials: Int
    /// Trials answered correctly.
    public var correct: Int
    /// Mean prompt tokens of the trials that ran.
    public var meanPromptTokens: Double
    /// Why no trial could run (the cell is then "n/a").
    public var failure: String?

    /// A cell (see the properties).
    public init(method: String, length: Int, depth: Double, trials: Int, correct: Int, meanPromptTokens: Double, failure: String?) {
        self.method = method
        self.length = length
        self.depth = depth
        self.trials = trials
        self.correct = correct
        self.meanPromptTokens = meanPromptTokens
        self.failure = failure
    }

    /// correct / trials, nil when no trial ran.
    public var accuracy: Double? { trials > 0 ? Double(correct) / Double(trials) : nil }

    /// "80% (4/5)" or "n/a (reason)".
    public func display(reasonLimit: Int = 40) -> String {
        guard let a = accuracy else { return "n/a (\(TextTable.truncated(failure ?? "no trial", reasonLimit)))" }
        return String(format: "%.0f%% (%d/%d)", 100 * a, correct, trials)
    }
}

/// The longest length a method retrieves at: k_max.
public struct PasskeyLimit: Sendable, Codable, Equatable {
    /// The method's name.
    public var method: String
    /// The longest length with ≥ 20% accuracy at every depth; nil when there is none.
    public var kMax: Int?

    /// `method`'s k_max.
    public init(method: String, kMax: Int?) {
        self.method = method
        self.kMax = kMax
    }
}

/// A retrieval evaluation: accuracy per (method, length, depth) over K trials, k_max per method,
/// every trial's output; printed as tables, saved as JSON and an SVG heat map.
public struct PasskeyReport: Sendable, Codable, Equatable {
    /// The checkpoint evaluated.
    public var model: String
    /// "passkey retrieval" or "key-value retrieval (N needles)".
    public var task: String
    /// Needles per prompt (1: passkey).
    public var needles: Int
    /// Target prompt lengths, in column order.
    public var lengths: [Int]
    /// Needle depths, in row order.
    public var depths: [Double]
    /// Trials per (method, length, depth) cell.
    public var trialsPerCell: Int
    /// Seed of the keys, values and needle positions.
    public var seed: UInt64
    /// Greedy generation of at most this many tokens; the answer is its first integer.
    public var maxNewTokens: Int
    /// Method names, in table order.
    public var methods: [String]
    /// Every (method, length, depth) cell: methods outer, then lengths, then depths.
    public var cells: [PasskeyCell]
    /// k_max of every method.
    public var limits: [PasskeyLimit]
    /// Every trial, with its output.
    public var trials: [PasskeyTrial]
    /// True when the run was interrupted: the cells not finished say so (nil: complete).
    public var partial: Bool?

    /// A report from its parts (see the properties).
    public init(model: String, task: String, needles: Int, lengths: [Int], depths: [Double], trialsPerCell: Int, seed: UInt64,
                maxNewTokens: Int, methods: [String], cells: [PasskeyCell], limits: [PasskeyLimit], trials: [PasskeyTrial]) {
        self.model = model
        self.task = task
        self.needles = needles
        self.lengths = lengths
        self.depths = depths
        self.trialsPerCell = trialsPerCell
        self.seed = seed
        self.maxNewTokens = maxNewTokens
        self.methods = methods
        self.cells = cells
        self.limits = limits
        self.trials = trials
    }

    /// The success threshold of k_max.
    public static let kMaxThreshold = 0.2

    /// The cell of (method, length, depth).
    public func cell(method: String, length: Int, depth: Double) -> PasskeyCell? {
        cells.first { $0.method == method && $0.length == length && $0.depth == depth }
    }

    /// k_max of `method`: the longest length whose cells all reach ≥ 20% accuracy (a cell
    /// without trials fails).
    public static func kMax(method: String, lengths: [Int], depths: [Double], cells: [PasskeyCell]) -> Int? {
        lengths.filter { n in
            depths.allSatisfy { d in
                (cells.first { $0.method == method && $0.length == n && $0.depth == d }?.accuracy ?? 0) >= kMaxThreshold
            }
        }.max()
    }

    /// k_max of `method` as stored.
    public func kMax(method: String) -> Int? { limits.first { $0.method == method }?.kMax }

    /// "0%", "25%", "33.3%".
    static func depthLabel(_ d: Double) -> String {
        let p = 100 * d
        return p == p.rounded() ? "\(Int(p))%" : String(format: "%.1f%%", p)
    }

    /// One table per method (rows = depths, columns = lengths) with its k_max.
    public func table() -> String {
        var parts = ["\(task) accuracy — greedy, ≤ \(maxNewTokens) new tokens, answer = first integer; "
                     + "\(trialsPerCell) trial(s) per cell; model: \(model)"]
        for method in methods {
            var rows = [["depth \\ length"] + lengths.map(String.init)]
            for d in depths {
                rows.append([Self.depthLabel(d)] + lengths.map { cell(method: method, length: $0, depth: d)?.display() ?? "–" })
            }
            let k = kMax(method: method).map(String.init) ?? "none (no length reaches 20% at every depth)"
            parts.append("[\(method)]  k_max = \(k)\n" + TextTable.render(rows))
        }
        if partial == true { parts.insert("PARTIAL: the run was interrupted; cells marked n/a were not finished", at: 0) }
        return parts.joined(separator: "\n\n")
    }

    /// Writes passkey.json and passkey.svg into `directory` (created when missing), each
    /// atomically. Returns the paths.
    @discardableResult
    public func save(to directory: String) throws -> [String] {
        let paths = ["passkey.json", "passkey.svg"].map { (directory as NSString).appendingPathComponent($0) }
        try ReportFile.write(try ReportFile.json(self), to: paths[0])
        try ReportFile.write(PasskeyHeatmap(report: self).svg(), to: paths[1])
        return paths
    }
}
