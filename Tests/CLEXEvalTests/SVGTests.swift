import CLEXEval
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// Elements and text of an XML document, read with Foundation's `XMLParser` (which fails on
/// anything not well-formed).
final class XMLSummary: NSObject, XMLParserDelegate {
    var elements: [(name: String, attributes: [String: String])] = []
    var texts: [String] = []
    private var current = ""

    /// Parses `xml`; nil when it is not well-formed.
    static func parse(_ xml: String) -> XMLSummary? {
        let summary = XMLSummary()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = summary
        return parser.parse() ? summary : nil
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append((name, attributes))
        current = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text" { texts.append(current) }
        current = ""
    }

    func count(_ name: String, className: String? = nil) -> Int {
        elements.filter { $0.name == name && (className == nil || $0.attributes["class"] == className) }.count
    }
}

@Suite("SVG plots") struct SVGTests {
    func report(methods: [String], trainingLength: Int? = 2048) -> PerplexityReport {
        let lengths = [1024, 2048, 4096, 8192]
        var cells: [PerplexityCell] = []
        for (i, m) in methods.enumerated() {
            for (j, n) in lengths.enumerated() {
                if i == 1 && j == 3 {
                    cells.append(PerplexityCell(method: m, length: n, measurement: nil, failure: "CLEX: too long", seconds: 0))
                    continue
                }
                let nll = (0..<50).map { 2.0 + Double(i) * 0.3 + Double(j * j) * 0.2 + Double($0 % 5) * 0.01 }
                cells.append(PerplexityCell(method: m, length: n, measurement: PerplexityMeasurement(protocol: .chunks, length: n, windows: 1, nll: nll),
                                            failure: nil, seconds: 0.1))
            }
        }
        return PerplexityReport(model: "tiny & <model>", protocolName: "chunks", protocolLabel: PerplexityProtocol.chunks.label,
                                stride: nil, chunk: nil, texts: ["a.txt"], textTokens: 10000, lengths: lengths, methods: methods,
                                windows: [9, 4, 2, 1], maxWindows: nil, trainingLength: trainingLength, cells: cells)
    }

    @Test("the perplexity plot is well-formed XML with labelled axes, ticks, a legend, one line per method and the training length")
    func perplexityPlot() throws {
        let methods = ["none", "linear ×4", "yarn <4> & \"friends\""]
        let svg = PerplexityPlot(report: report(methods: methods)).svg()
        let xml = try #require(XMLSummary.parse(svg), "not well-formed:\n\(svg)")
        #expect(xml.elements.first?.name == "svg")
        #expect(xml.count("path", className: "series") == methods.count)
        #expect(xml.count("circle", className: "marker") == 4 + 3 + 4)
        #expect(xml.texts.contains("context length (tokens)") && xml.texts.contains("perplexity"))
        for m in methods { #expect(xml.texts.contains(m), "legend entry \(m)") }
        #expect(xml.texts.contains { $0.hasPrefix("Perplexity vs context length") && $0.contains("tiny & <model>") })
        // Length ticks at the powers of two, perplexity ticks on a log scale.
        let xTicks = xml.elements.indices.filter { xml.elements[$0].name == "text" && xml.elements[$0].attributes["class"] == "x-tick" }
        #expect(xTicks.count == 4)
        #expect(xml.count("text", className: "y-tick") >= 2)
        let marker = try #require(xml.elements.first { $0.attributes["class"] == "training-length" })
        #expect(marker.name == "line" && marker.attributes["stroke-dasharray"] != nil)
        #expect(XMLSummary.parse(PerplexityPlot(report: report(methods: methods, trainingLength: nil)).svg())!
            .count("line", className: "training-length") == 0)
    }

    @Test("lines break at n/a cells and markers sit higher for larger perplexity")
    func geometry() throws {
        let svg = PerplexityPlot(report: report(methods: ["a", "b"])).svg()
        let xml = try #require(XMLSummary.parse(svg))
        let paths = xml.elements.filter { $0.attributes["class"] == "series" }.map { $0.attributes["d"]! }
        #expect(paths[0].filter { $0 == "L" }.count == 3 && paths[1].filter { $0 == "L" }.count == 2)
        let ys = xml.elements.filter { $0.attributes["class"] == "marker" }.prefix(4).map { Double($0.attributes["cy"]!)! }
        #expect(ys == ys.sorted(by: >))   // perplexity grows with length: higher on the page
    }

    @Test("the passkey heat map is well-formed XML with a cell per (method, length, depth), labels and a colour scale")
    func heatmap() throws {
        let lengths = [256, 512, 1024], depths = [0, 0.5, 1.0], methods = ["rope", "clex & co"]
        var cells: [PasskeyCell] = []
        for m in methods {
            for n in lengths {
                for d in depths {
                    cells.append(PasskeyCell(method: m, length: n, depth: d, trials: n == 1024 && m == "rope" ? 0 : 4,
                                             correct: n == 256 ? 4 : 1, meanPromptTokens: Double(n),
                                             failure: n == 1024 && m == "rope" ? "refused" : nil))
                }
            }
        }
        let limits = methods.map { PasskeyLimit(method: $0, kMax: PasskeyReport.kMax(method: $0, lengths: lengths, depths: depths, cells: cells)) }
        #expect(limits.map(\.kMax) == [512, 1024])
        let report = PasskeyReport(model: "tiny", task: "passkey retrieval", needles: 1, lengths: lengths, depths: depths, trialsPerCell: 4,
                                   seed: 0, maxNewTokens: 10, methods: methods, cells: cells, limits: limits, trials: [])
        let xml = try #require(XMLSummary.parse(PasskeyHeatmap(report: report).svg()))
        #expect(xml.count("rect", className: "cell") == methods.count * lengths.count * depths.count)
        #expect(xml.count("rect", className: "colour-scale") == 1 && xml.count("linearGradient") == 1)
        #expect(xml.texts.contains("context length (tokens)") && xml.texts.contains("needle depth (%)"))
        #expect(xml.texts.contains("accuracy") && xml.texts.contains("0%") && xml.texts.contains("100%") && xml.texts.contains("n/a"))
        #expect(xml.texts.contains("rope — k_max = 512") && xml.texts.contains("clex & co — k_max = 1024"))
        #expect(PasskeyHeatmap.colour(0) == "#d73027" && PasskeyHeatmap.colour(1) == "#1a9850")
        #expect(report.table().contains("k_max = 512") && report.table().contains("25% (1/4)"))
    }
}
