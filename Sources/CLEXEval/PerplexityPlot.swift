import Foundation

/// Perplexity against context length as a hand-written SVG: log₂-scaled length axis, log-scaled
/// perplexity axis, labelled axes with units and ticks, one coloured line (`<path
/// class="series">`) with circle markers per method, a legend, a dashed vertical line at the
/// training length when the report knows it, and a title naming the protocol. Cells without a
/// measurement (or with a non-finite one) break the method's line.
public struct PerplexityPlot {
    /// The evaluation plotted.
    public var report: PerplexityReport

    /// A plot of `report`.
    public init(report: PerplexityReport) { self.report = report }

    /// The SVG document.
    public func svg() -> String {
        let longestName = (report.methods.map(\.count).max() ?? 0) + 6
        let (width, height) = (710 + max(250, 70 + 7.5 * Double(longestName)), 540.0)
        let (left, right, top, bottom) = (90.0, 710.0, 70.0, height - 70)
        var doc = SVGDocument(width: width, height: height)
        doc.text("Perplexity vs context length — \(report.model)", x: (left + right) / 2, y: 28, size: 17, bold: true, className: "title")
        doc.text("protocol: \(report.protocolLabel)", x: (left + right) / 2, y: 48, size: 11, fill: "#555")

        // Domains: every length (and the training length) on x, every finite PPL on y.
        var xs = report.lengths.map(Double.init)
        if let L = report.trainingLength { xs.append(Double(L)) }
        let xLow = (xs.min() ?? 1) / Foundation.pow(2, 0.3)
        let xHigh = (xs.max() ?? 2) * Foundation.pow(2, 0.3)
        let values = report.cells.compactMap { $0.measurement?.perplexity }.filter { $0.isFinite && $0 > 0 }
        var yLow = values.min() ?? 1
        var yHigh = values.max() ?? 10
        let logSpan = max(Foundation.log10(yHigh / yLow), 0.2)
        yLow /= Foundation.pow(10, logSpan * 0.08)
        yHigh *= Foundation.pow(10, logSpan * 0.08)
        let x = LogAxis(low: xLow, high: xHigh, start: left, end: right)
        let y = LogAxis(low: yLow, high: yHigh, start: bottom, end: top)

        // Frame, grid and ticks.
        doc.rect(x: left, y: top, width: right - left, height: bottom - top, fill: "none", stroke: "#444")
        for tick in LogAxis.powerOfTwoTicks(low: xLow, high: xHigh) {
            let px = x.position(tick)
            doc.line(px, top, px, bottom, stroke: "#e4e4e4")
            doc.line(px, bottom, px, bottom + 5, stroke: "#444")
            doc.text(LogAxis.label(tick), x: px, y: bottom + 19, size: 11, className: "x-tick")
        }
        for tick in LogAxis.decadeTicks(low: yLow, high: yHigh) {
            let py = y.position(tick)
            doc.line(left, py, right, py, stroke: "#e4e4e4")
            doc.line(left - 5, py, left, py, stroke: "#444")
            doc.text(LogAxis.label(tick), x: left - 9, y: py + 4, size: 11, anchor: "end", className: "y-tick")
        }
        doc.text("context length (tokens)", x: (left + right) / 2, y: bottom + 45, size: 13, className: "x-label")
        doc.text("perplexity", x: 28, y: (top + bottom) / 2, size: 13, rotate: -90, className: "y-label")

        if let L = report.trainingLength {
            let px = x.position(Double(L))
            doc.line(px, top, px, bottom, stroke: "#555", width: 1.5, dash: "6 4", className: "training-length")
            doc.text("training length \(L)", x: px + 4, y: top + 14, size: 11, anchor: "start", fill: "#555")
        }

        // One line and markers per method; the legend beside the plot.
        for (i, method) in report.methods.enumerated() {
            let colour = SVGDocument.colour(i)
            var segments: [[(x: Double, y: Double)]] = [[]]
            for n in report.lengths {
                if let p = report.cell(method: method, length: n)?.measurement?.perplexity, p.isFinite, p > 0 {
                    segments[segments.count - 1].append((x.position(Double(n)), y.position(p)))
                } else if !segments[segments.count - 1].isEmpty {
                    segments.append([])
                }
            }
            doc.path(segments, stroke: colour, className: "series", title: method)
            for point in segments.joined() { doc.circle(cx: point.x, cy: point.y, r: 4, fill: colour, className: "marker") }

            let ly = top + 10 + Double(i) * 22
            doc.line(right + 20, ly, right + 48, ly, stroke: colour, width: 2)
            doc.circle(cx: right + 34, cy: ly, r: 4, fill: colour)
            let measured = report.cells.contains { $0.method == method && $0.measurement != nil }
            doc.text(method + (measured ? "" : " (n/a)"), x: right + 56, y: ly + 4, size: 12, anchor: "start", className: "legend")
        }
        return doc.render()
    }
}
