import CLEXEval
import CLEXModel
import CLEXTensor
import CLEXTokenizer
import Foundation
import Testing

/// The runner over methods × lengths, its report files and the method groups of the CLI.
@Suite("perplexity runner and report") struct PerplexityRunTests {
    let model = tinyModel()

    /// Plain RoPE and a CLEX that refuses contexts past T·L = 2 × 12 = 24 tokens.
    func run(lengths: [Int] = [8, 16, 32]) throws -> (PerplexityReport, [EvaluationProgress]) {
        let methods = [
            EvaluationMethod(name: "rope") { try method(self.model) },
            EvaluationMethod(name: "clex T=2") { try method(self.model, .clex(CLEXParameters(maxFactor: 2)), context: 12) },
            EvaluationMethod(name: "broken") { throw EvaluationError("cannot be made") },
        ]
        let runner = PerplexityRun(model: model, methods: methods, lengths: lengths, scoring: .cached(chunk: 5),
                                   maxWindows: 3, modelName: "tiny", trainingLength: 12)
        var events: [EvaluationProgress] = []
        let report = try runner.run(text: EvaluationText(tokens: randomTokens(100))) { events.append($0) }
        return (report, events)
    }

    @Test("every (method, length) cell is measured or n/a with its reason; windows per length are stated")
    func cells() throws {
        let (report, events) = try run()
        #expect(report.cells.count == 9)
        #expect(report.windows == [3, 3, 3])
        #expect(report.cell(method: "rope", length: 32)?.measurement?.tokens == 3 * 31)
        #expect(report.cell(method: "clex T=2", length: 16)?.measurement != nil)
        let refused = try #require(report.cell(method: "clex T=2", length: 32))
        #expect(refused.measurement == nil && refused.failure?.contains("CLEX") == true)
        #expect(report.cell(method: "broken", length: 8)?.failure == "cannot be made")
        let table = report.table()
        #expect(table.contains("protocol: full sequences in cached chunks of 5: every token after the first scored"))
        #expect(table.contains("8 → 3, 16 → 3, 32 → 3"))
        #expect(table.contains("n/a (CLEX") && table.contains("n/a (cannot be made)"))
        // Progress: monotone token counts ending at the total of the measured cells' windows.
        #expect(!events.isEmpty && zip(events, events.dropFirst()).allSatisfy { $0.tokensDone <= $1.tokensDone })
        #expect(events.last!.line.contains("tok/s") && events.last!.line.contains("ETA"))
        #expect(events.allSatisfy { $0.tokensTotal == 3 * 3 * (8 + 16 + 32) })
    }

    @Test("ppl.json, ppl.csv and ppl.svg are written atomically and hold the numbers of the table")
    func files() throws {
        let (report, _) = try run()
        let dir = temporaryDirectory() + "/out"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let paths = try report.save(to: dir)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["ppl.csv", "ppl.json", "ppl.svg"])
        let decoded = try ReportFile.decoder().decode(PerplexityReport.self, from: Data(contentsOf: URL(fileURLWithPath: paths[0])))
        #expect(decoded == report)

        let table = report.table().split(separator: "\n")
        let csv = try String(contentsOfFile: paths[1], encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 1 + report.cells.count)
        var checked = 0
        for line in csv.dropFirst() {
            let fields = parseCSV(String(line))
            #expect(fields.count == 11)
            let (name, length) = (fields[0], Int(fields[1])!)
            let row = try #require(table.first { $0.hasPrefix(name + " ") })
            let cell = try #require(report.cell(method: name, length: length))
            if let m = cell.measurement {
                let ppl = Double(fields[7])!, se = Double(fields[8])!
                #expect(ppl == m.perplexity && Double(fields[5])! == m.meanNLL)
                #expect(row.contains(String(format: "%.3f ± %.3f", ppl, se)), "\(row)")
                #expect(Int(fields[4]) == m.tokens && Int(fields[3]) == m.windows)
                checked += 1
            } else {
                #expect(fields[10].hasPrefix("n/a: ") && row.contains("n/a ("))
            }
        }
        #expect(checked == 5)
    }

    @Test("the llama.cpp-style report says whether BOS was put first")
    func llamaCppLabel() throws {
        let m = [EvaluationMethod(name: "rope") { try method(self.model) }]
        let text = EvaluationText(tokens: randomTokens(40))
        for bos: Int32? in [60, nil] {
            let report = try PerplexityRun(model: model, methods: m, lengths: [16], scoring: .llamaCpp, bos: bos).run(text: text)
            #expect(report.protocolLabel.contains("llama.cpp-style"))
            #expect(report.protocolLabel.contains(bos == nil ? "first token kept" : "[BOS id 60]"))
            #expect(report.table().contains("llama.cpp-style") && report.cells[0].measurement?.tokens == 2 * 7)
        }
    }

    @Test("runs refuse lengths below 2, empty method lists and strides beyond a length")
    func validation() throws {
        let m = [EvaluationMethod(name: "rope") { try method(self.model) }]
        #expect(throws: EvaluationError.self) { try PerplexityRun(model: model, methods: m, lengths: [1], scoring: .chunks).validate() }
        #expect(throws: EvaluationError.self) { try PerplexityRun(model: model, methods: [], lengths: [8], scoring: .chunks).validate() }
        #expect(throws: EvaluationError.self) {
            try PerplexityRun(model: model, methods: m, lengths: [8, 16], scoring: .sliding(stride: 12)).validate()
        }
        #expect(throws: EvaluationError.self) {
            try PerplexityRun(model: model, methods: m, lengths: [8], scoring: .chunks, maxWindows: 0).validate()
        }
    }

    @Test("method groups: llama.cpp flags per group, --ctx-train, names, and clear errors")
    func methodGroups() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ModelWriter.saveHF(tinyModel(vocabulary: 257), to: dir)
        try ByteTokenizerMarker.write(into: dir)
        let loaded = try ModelLoader.load(dir)
        let methods = try MethodGroups.parse(
            "none; --rope-scaling linear --rope-scale 4 ;--rope-scaling yarn --rope-scale 4 --yarn-orig-ctx 32;"
            + "--rope-scaling dynamic --rope-scale 2;--rope-scaling clex --clex-max-factor 16 --ctx-train 16;;default",
            loaded: loaded)
        #expect(methods.map(\.name) == ["none", "linear ×4", "yarn ×4 (L0 32)", "dynamic ×2 (L 64)", "clex T=16 (L 16)",
                                        "checkpoint: none"])
        let clex = try methods[4].make()
        #expect(clex.configuration.contextLength == 16)
        #expect(throws: (any Error).self) { try clex.inference(contextLength: 16 * 16 + 1) }
        #expect(try MethodGroups.parse("", loaded: loaded).map(\.name) == ["checkpoint: none"])
        #expect(try MethodGroups.parse("none;none", loaded: loaded).map(\.name) == ["none", "none #2"])
        for bad in ["--rope-scaling wobble", "--rope-scaling linear", "--rope-scale", "--frobnicate 3", "--ctx-train x",
                    "--rope-scaling none --clex-max-factor 4"] {
            #expect(throws: EvaluationError.self, "\(bad)") { try MethodGroups.parse("none;" + bad, loaded: loaded) }
        }
    }
}

/// Fields of one CSV line (RFC 4180 quoting).
func parseCSV(_ line: String) -> [String] {
    var fields: [String] = []
    var field = ""
    var quoted = false
    let chars = Array(line)
    var i = 0
    while i < chars.count {
        let c = chars[i]
        if quoted {
            if c == "\"" {
                if i + 1 < chars.count && chars[i + 1] == "\"" { field.append("\""); i += 1 } else { quoted = false }
            } else {
                field.append(c)
            }
        } else if c == "\"" {
            quoted = true
        } else if c == "," {
            fields.append(field)
            field = ""
        } else {
            field.append(c)
        }
        i += 1
    }
    fields.append(field)
    return fields
}
