import Foundation

/// A hand-written SVG document: elements appended as text, every attribute and text value
/// XML-escaped, numbers written with two decimals. `render()` gives a complete, well-formed file.
struct SVGDocument {
    let width: Double
    let height: Double
    private var definitions: [String] = []
    private var body: [String] = []

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    /// `text` with &, <, >, " and ' replaced by entities (and control characters dropped).
    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                if scalar.value < 0x20 && scalar != "\t" && scalar != "\n" { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A number for an attribute.
    static func number(_ x: Double) -> String { String(format: "%.2f", x) }

    /// Adds an element inside `<defs>`.
    mutating func define(_ element: String) { definitions.append(element) }

    /// Adds raw, already escaped markup.
    mutating func add(_ element: String) { body.append(element) }

    /// A text label; `anchor` is start, middle or end; `rotate` in degrees about (x, y).
    mutating func text(_ content: String, x: Double, y: Double, size: Double = 12, anchor: String = "middle",
                       rotate: Double? = nil, bold: Bool = false, fill: String = "#222", className: String? = nil) {
        var attributes = "x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" font-size=\"\(Self.number(size))\" text-anchor=\"\(anchor)\" fill=\"\(fill)\""
        if bold { attributes += " font-weight=\"bold\"" }
        if let rotate { attributes += " transform=\"rotate(\(Self.number(rotate)) \(Self.number(x)) \(Self.number(y)))\"" }
        if let className { attributes += " class=\"\(className)\"" }
        body.append("<text \(attributes)>\(Self.escape(content))</text>")
    }

    /// A straight line; `dash` is a stroke-dasharray such as "6 4".
    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String = "#222",
                       width: Double = 1, dash: String? = nil, className: String? = nil) {
        var attributes = "x1=\"\(Self.number(x1))\" y1=\"\(Self.number(y1))\" x2=\"\(Self.number(x2))\" y2=\"\(Self.number(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(Self.number(width))\""
        if let dash { attributes += " stroke-dasharray=\"\(dash)\"" }
        if let className { attributes += " class=\"\(className)\"" }
        body.append("<line \(attributes)/>")
    }

    /// A rectangle.
    mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String, stroke: String? = nil,
                       className: String? = nil) {
        var attributes = "x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" width=\"\(Self.number(width))\" height=\"\(Self.number(height))\" fill=\"\(fill)\""
        if let stroke { attributes += " stroke=\"\(stroke)\"" }
        if let className { attributes += " class=\"\(className)\"" }
        body.append("<rect \(attributes)/>")
    }

    /// A filled circle.
    mutating func circle(cx: Double, cy: Double, r: Double, fill: String, className: String? = nil) {
        var attributes = "cx=\"\(Self.number(cx))\" cy=\"\(Self.number(cy))\" r=\"\(Self.number(r))\" fill=\"\(fill)\""
        if let className { attributes += " class=\"\(className)\"" }
        body.append("<circle \(attributes)/>")
    }

    /// An unfilled path through `segments` (each a list of points drawn as one connected line).
    mutating func path(_ segments: [[(x: Double, y: Double)]], stroke: String, width: Double = 2, className: String? = nil,
                       title: String? = nil) {
        let d = segments.filter { !$0.isEmpty }.map { points in
            "M " + points.map { "\(Self.number($0.x)) \(Self.number($0.y))" }.joined(separator: " L ")
        }.joined(separator: " ")
        var attributes = "d=\"\(d)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(Self.number(width))\" stroke-linejoin=\"round\""
        if let className { attributes += " class=\"\(className)\"" }
        if let title {
            body.append("<path \(attributes)><title>\(Self.escape(title))</title></path>")
        } else {
            body.append("<path \(attributes)/>")
        }
    }

    /// The document.
    func render() -> String {
        var lines = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                     "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.number(width))\" height=\"\(Self.number(height))\" viewBox=\"0 0 \(Self.number(width)) \(Self.number(height))\" font-family=\"Helvetica, Arial, sans-serif\">"]
        if !definitions.isEmpty { lines.append("<defs>\n" + definitions.joined(separator: "\n") + "\n</defs>") }
        lines.append("<rect x=\"0\" y=\"0\" width=\"\(Self.number(width))\" height=\"\(Self.number(height))\" fill=\"#ffffff\"/>")
        lines += body
        lines.append("</svg>")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Distinct line colours (Tableau 10), cycled.
    static func colour(_ index: Int) -> String {
        let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
        return palette[index % palette.count]
    }
}
