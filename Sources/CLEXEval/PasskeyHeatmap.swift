import Foundation

/// Retrieval accuracy as a hand-written SVG heat map: one panel per method (columns = context
/// lengths, rows = needle depths; cells coloured from red at 0% through yellow to green at 100%,
/// grey and "n/a" without trials, each labelled with its accuracy), axis labels with units, the
/// panel's k_max, and a colour-scale legend.
public struct PasskeyHeatmap {
    /// The evaluation drawn.
    public var report: PasskeyReport

    /// A heat map of `report`.
    public init(report: PasskeyReport) { self.report = report }

    /// The colour of accuracy `a` (0 … 1): red → yellow → green.
    public static func colour(_ a: Double) -> String {
        let t = min(max(a, 0), 1)
        let stops: [(Double, Double, Double)] = [(215, 48, 39), (254, 224, 139), (26, 152, 80)]
        let (from, to, f) = t < 0.5 ? (stops[0], stops[1], t / 0.5) : (stops[1], stops[2], (t - 0.5) / 0.5)
        func mix(_ a: Double, _ b: Double) -> Int { Int((a + (b - a) * f).rounded()) }
        return String(format: "#%02x%02x%02x", mix(from.0, to.0), mix(from.1, to.1), mix(from.2, to.2))
    }

    /// The SVG document.
    public func svg() -> String {
        let (cellWidth, cellHeight) = (76.0, 30.0)
        let (left, top) = (110.0, 70.0)
        let panelHeight = 60 + cellHeight * Double(report.depths.count) + 50
        let gridWidth = cellWidth * Double(report.lengths.count)
        let title = "\(report.task) accuracy — \(report.model)"
        let longestMethod = report.methods.map(\.count).max() ?? 0
        let width = max(left + gridWidth + 150, Double(title.count) * 9.5 + 40, left + Double(longestMethod + 16) * 8, 520)
        let height = top + panelHeight * Double(max(report.methods.count, 1)) + 10
        var doc = SVGDocument(width: width, height: height)
        doc.text(title, x: width / 2, y: 26, size: 16, bold: true, className: "title")
        doc.text("greedy, ≤ \(report.maxNewTokens) new tokens, answer = first integer; \(report.trialsPerCell) trial(s) per cell",
                 x: width / 2, y: 46, size: 11, fill: "#555")

        // The colour scale, right of the first panel.
        doc.define("<linearGradient id=\"accuracy-scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">"
                   + "<stop offset=\"0\" stop-color=\"\(Self.colour(0))\"/><stop offset=\"0.5\" stop-color=\"\(Self.colour(0.5))\"/>"
                   + "<stop offset=\"1\" stop-color=\"\(Self.colour(1))\"/></linearGradient>")
        let scaleX = left + gridWidth + 40
        let scaleTop = top + 40
        let scaleHeight = max(cellHeight * Double(report.depths.count), 90)
        doc.rect(x: scaleX, y: scaleTop, width: 16, height: scaleHeight, fill: "url(#accuracy-scale)", stroke: "#444", className: "colour-scale")
        doc.text("accuracy", x: scaleX + 8, y: scaleTop - 10, size: 11)
        for (a, label) in [(0.0, "0%"), (0.5, "50%"), (1.0, "100%")] {
            let y = scaleTop + scaleHeight * (1 - a)
            doc.line(scaleX + 16, y, scaleX + 21, y, stroke: "#444")
            doc.text(label, x: scaleX + 24, y: y + 4, size: 10, anchor: "start")
        }

        for (m, method) in report.methods.enumerated() {
            let panelTop = top + panelHeight * Double(m)
            let gridTop = panelTop + 40
            let k = report.kMax(method: method).map { "k_max = \($0)" } ?? "k_max: none"
            doc.text("\(method) — \(k)", x: left, y: panelTop + 14, size: 13, anchor: "start", bold: true, className: "panel-title")
            for (j, n) in report.lengths.enumerated() {
                doc.text(String(n), x: left + cellWidth * (Double(j) + 0.5), y: gridTop - 6, size: 11, className: "x-tick")
            }
            for (i, d) in report.depths.enumerated() {
                let y = gridTop + cellHeight * Double(i)
                doc.text(PasskeyReport.depthLabel(d), x: left - 8, y: y + cellHeight / 2 + 4, size: 11, anchor: "end", className: "y-tick")
                for (j, n) in report.lengths.enumerated() {
                    let x = left + cellWidth * Double(j)
                    let cell = report.cell(method: method, length: n, depth: d)
                    if let a = cell?.accuracy {
                        doc.rect(x: x, y: y, width: cellWidth, height: cellHeight, fill: Self.colour(a), stroke: "#ffffff", className: "cell")
                        doc.text(String(format: "%.0f%%", 100 * a), x: x + cellWidth / 2, y: y + cellHeight / 2 + 4, size: 11)
                    } else {
                        doc.rect(x: x, y: y, width: cellWidth, height: cellHeight, fill: "#bbbbbb", stroke: "#ffffff", className: "cell")
                        doc.text("n/a", x: x + cellWidth / 2, y: y + cellHeight / 2 + 4, size: 11, fill: "#444")
                    }
                }
            }
            let gridBottom = gridTop + cellHeight * Double(report.depths.count)
            doc.text("context length (tokens)", x: left + gridWidth / 2, y: gridBottom + 22, size: 12, className: "x-label")
            doc.text("needle depth (%)", x: 22, y: (gridTop + gridBottom) / 2, size: 12, rotate: -90, className: "y-label")
        }
        return doc.render()
    }
}
