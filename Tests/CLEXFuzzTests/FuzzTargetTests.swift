import CLEXFuzz
import Foundation
import Testing

/// The CI share of the fuzzing: 10,000 inputs per parser (scripts/fuzz runs 1,000,000 each).
/// A crash or hang ends the test process with a message naming the target and the saved input.
@Suite("Fuzz targets", .serialized)
struct FuzzTargetTests {
    /// Where a crash would leave its input (the test process dies, so the directory stays).
    static let directory = NSTemporaryDirectory() + "clex-fuzz-tests-\(getpid())"

    @Test("every built-in seed is a valid file its target accepts", arguments: FuzzTarget.all.map(\.name))
    func seedsParse(_ name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        #expect(!target.seeds.isEmpty)
        for (i, seed) in target.seeds.enumerated() {
            do {
                try target.run(seed)
            } catch {
                Issue.record("\(name) seed \(i) is rejected: \(error)")
            }
        }
    }

    @Test("10,000 mutated inputs: no crash, no hang, only input errors", arguments: FuzzTarget.all.map(\.name))
    func fuzz(_ name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        let directory = Self.directory + "-" + name
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let options = FuzzOptions(count: 10_000, seed: 2024, outputDirectory: directory, progressInterval: 1e9)
        let report = FuzzRunner.run(target, options: options, extraSeeds: Self.fixtures(for: target))
        #expect(report.inputs == 10_000)
        #expect(report.unexpectedErrors.isEmpty, "\(report.unexpectedErrors)")
        // The mutations reach past the first check: some inputs pass, others are rejected.
        #expect(report.accepted > 0)
        #expect(report.distinctErrorKinds >= 2, "\(report.kindLines)")
    }

    /// The repository's small fixture files that suit `target`.
    static func fixtures(for target: FuzzTarget) -> [[UInt8]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        let files = ["Fixtures/CLEXFormats/python_written.gguf", "Fixtures/CLEXFormats/python_written.safetensors",
                     "CLEXTokenizerTests/Fixtures/llama-spm-tokenizer.json", "CLEXTokenizerTests/Fixtures/qwen2-layout-tokenizer.json"]
        return files.compactMap { file in
            let url = root.appendingPathComponent(file)
            guard target.accepts(fileName: url.lastPathComponent), let data = try? Data(contentsOf: url) else { return nil }
            return [UInt8](data)
        }
    }
}
