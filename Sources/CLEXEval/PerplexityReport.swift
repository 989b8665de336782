import Foundation

/// One (method, length) cell of a perplexity evaluation: its measurement, or why there is none.
public struct PerplexityCell: Sendable, Codable, Equatable {
    /// The method's name.
    public var method: String
    /// Context length n.
    public var length: Int
    /// The measurement, nil when the method could not serve the length.
    public var measurement: PerplexityMeasurement?
    /// Why there is no measurement (the method's or session's error).
    public var failure: String?
    /// Wall-clock seconds the cell took.
    public var seconds: Double

    /// A cell; give a measurement or a failure.
    public init(method: String, length: Int, measurement: PerplexityMeasurement?, failure: String?, seconds: Double) {
        self.method = method
        self.length = length
        self.measurement = measurement
        self.failure = failure
        self.seconds = seconds
    }

    /// "PPL ± se" (three decimals) or "n/a (reason)" with the reason cut to `reasonLimit`
    /// characters.
    public func display(reasonLimit: Int = 40) -> String {
        if let m = measurement { return String(format: "%.3f ± %.3f", m.perplexity, m.perplexityError) }
        return "n/a (\(TextTable.truncated(failure ?? "not measured", reasonLimit)))"
    }
}

/// A perplexity evaluation of several methods at several context lengths under one protocol:
/// printed as a table (rows = methods, columns = lengths, "PPL ± se"), saved as JSON and CSV
/// (atomically), plotted as SVG (`PerplexityPlot`).
public struct PerplexityReport: Sendable, Codable, Equatable {
    /// The checkpoint evaluated.
    public var model: String
    /// The protocol's command-line name.
    public var protocolName: String
    /// The protocol in words.
    public var protocolLabel: String
    /// Stride of the sliding protocol.
    public var stride: Int?
    /// Chunk size of the cached protocol.
    public var chunk: Int?
    /// The text files.
    public var texts: [String]
    /// Tokens of their concatenated stream.
    public var textTokens: Int
    /// Context lengths, in column order.
    public var lengths: [Int]
    /// Method names, in row order.
    public var methods: [String]
    /// Windows each length got (the same for every method), parallel to `lengths`.
    public var windows: [Int]
    /// The cap on windows per length, if one was set.
    public var maxWindows: Int?
    /// The model's training length, marked on the plot when known.
    public var trainingLength: Int?
    /// Every (method, length) cell, methods outer.
    public var cells: [PerplexityCell]
    /// True when the run was interrupted: the cells not finished say so (nil: complete).
    public var partial: Bool?

    /// A report from its parts (see the properties).
    public init(model: String, protocolName: String, protocolLabel: String, stride: Int?, chunk: Int?, texts: [String],
                textTokens: Int, lengths: [Int], methods: [String], windows: [Int], maxWindows: Int?, trainingLength: Int?,
                cells: [PerplexityCell]) {
        self.model = model
        self.protocolName = protocolName
        self.protocolLabel = protocolLabel
        self.stride = stride
        self.chunk = chunk
        self.texts = texts
        self.textTokens = textTokens
        self.lengths = lengths
        self.methods = methods
        self.windows = windows
        self.maxWindows = maxWindows
        self.trainingLength = trainingLength
        self.cells = cells
    }

    /// The cell of `method` at `length`.
    public func cell(method: String, length: Int) -> PerplexityCell? {
        cells.first { $0.method == method && $0.length == length }
    }

    /// The table, headed by the protocol and the windows per length; failures beyond the cell
    /// width are spelled out below it.
    public func table() -> String {
        var rows = [["method"] + lengths.map(String.init)]
        var notes: [String] = []
        for method in methods {
            rows.append([method] + lengths.map { n in
                guard let c = cell(method: method, length: n) else { return "–" }
                if let failure = c.failure, failure.count > 40 { notes.append("\(method) at \(n): \(failure)") }
                return c.display()
            })
        }
        var lines = ["perplexity (PPL ± standard error) — protocol: \(protocolLabel)",
                     "model: \(model) · text: \(texts.count) file(s), \(textTokens) tokens · windows per length: "
                        + zip(lengths, windows).map { "\($0) → \($1)" }.joined(separator: ", ")
                        + (maxWindows.map { " (at most \($0))" } ?? ""),
                     TextTable.render(rows)]
        if !notes.isEmpty { lines.append("notes:\n" + notes.map { "  " + $0 }.joined(separator: "\n")) }
        if partial == true { lines.insert("PARTIAL: the run was interrupted; cells marked n/a were not finished", at: 0) }
        return lines.joined(separator: "\n")
    }

    /// One line per cell: method, length, protocol, windows, tokens, mean NLL, its standard
    /// error, PPL, its standard error, seconds, status ("ok" or "n/a: reason").
    public func csv() -> String {
        var lines = ["method,length,protocol,windows,tokens,mean_nll,se_nll,ppl,ppl_se,seconds,status"]
        for c in cells {
            var fields = [ReportFile.csvField(c.method), String(c.length), ReportFile.csvField(protocolLabel)]
            if let m = c.measurement {
                fields += [String(m.windows), String(m.tokens), "\(m.meanNLL)", "\(m.standardError)",
                           "\(m.perplexity)", "\(m.perplexityError)"]
            } else {
                fields += ["0", "0", "", "", "", ""]
            }
            fields += [String(format: "%.3f", c.seconds), ReportFile.csvField(c.failure.map { "n/a: " + $0 } ?? "ok")]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes ppl.json, ppl.csv and ppl.svg into `directory` (created when missing), each
    /// atomically. Returns the three paths.
    @discardableResult
    public func save(to directory: String) throws -> [String] {
        let paths = ["ppl.json", "ppl.csv", "ppl.svg"].map { (directory as NSString).appendingPathComponent($0) }
        try ReportFile.write(try ReportFile.json(self), to: paths[0])
        try ReportFile.write(csv(), to: paths[1])
        try ReportFile.write(PerplexityPlot(report: self).svg(), to: paths[2])
        return paths
    }
}
