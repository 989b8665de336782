import Foundation

/// The extrapolation ratio against the training length, one line per (method, model size), as a
/// hand-written SVG: log₂ axes for both (ratios are powers of two when the lengths are), a legend
/// and a title. The paper reports that the ratio grows with model size and training length.
public struct ScalingPlot {
    /// One line: its label and (training length, ratio) points.
    public struct Series: Sendable {
        public var label: String
        public var points: [(window: Int, ratio: Double)]
        public init(label: String, points: [(window: Int, ratio: Double)]) {
            self.label = label
            self.points = points
        }
    }

    public var title: String
    public var series: [Series]

    /// A plot titled `title` of `series`.
    public init(title: String, series: [Series]) {
        self.title = title
        self.series = series
    }

    /// The SVG document.
    public func svg() -> String {
        let longestName = series.map(\.label.count).max() ?? 0
        let (width, height) = (610 + max(220, 70 + 7.5 * Double(longestName)), 480.0)
        let (left, right, top, bottom) = (80.0, 610.0, 60.0, height - 70)
        var doc = SVGDocument(width: width, height: height)
        doc.text(title, x: (left + right) / 2, y: 30, size: 16, bold: true, className: "title")
        let windows = series.flatMap { $0.points.map { Double($0.window) } }
        let ratios = series.flatMap { $0.points.map(\.ratio) }.filter { $0.isFinite && $0 > 0 }
        let x = LogAxis(low: (windows.min() ?? 1) / 1.4, high: (windows.max() ?? 2) * 1.4, start: left, end: right)
        let y = LogAxis(low: 0.7, high: max(ratios.max() ?? 2, 2) * 1.4, start: bottom, end: top)
        doc.rect(x: left, y: top, width: right - left, height: bottom - top, fill: "none", stroke: "#444")
        for tick in LogAxis.powerOfTwoTicks(low: x.low, high: x.high) {
            let px = x.position(tick)
            doc.line(px, top, px, bottom, stroke: "#e4e4e4")
            doc.text(LogAxis.label(tick), x: px, y: bottom + 19, size: 11, className: "x-tick")
        }
        for tick in LogAxis.powerOfTwoTicks(low: y.low, high: y.high) {
            let py = y.position(tick)
            doc.line(left, py, right, py, stroke: "#e4e4e4")
            doc.text(LogAxis.label(tick), x: left - 9, y: py + 4, size: 11, anchor: "end", className: "y-tick")
        }
        doc.text("training length L (tokens)", x: (left + right) / 2, y: bottom + 45, size: 13, className: "x-label")
        doc.text("extrapolation ratio (longest length within 1.05× of PPL at L, ÷ L)", x: 24, y: (top + bottom) / 2, size: 12,
                 rotate: -90, className: "y-label")
        for (i, s) in series.enumerated() {
            let colour = SVGDocument.colour(i)
            let points = s.points.sorted { $0.window < $1.window }.filter { $0.ratio.isFinite && $0.ratio > 0 }
                .map { (x: x.position(Double($0.window)), y: y.position($0.ratio)) }
            doc.path([points], stroke: colour, className: "series", title: s.label)
            for p in points { doc.circle(cx: p.x, cy: p.y, r: 4, fill: colour, className: "marker") }
            let ly = top + 10 + Double(i) * 22
            doc.line(right + 20, ly, right + 48, ly, stroke: colour, width: 2)
            doc.text(s.label, x: right + 56, y: ly + 4, size: 12, anchor: "start", className: "legend")
        }
        return doc.render()
    }
}
