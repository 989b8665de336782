import CLEXCommandLine
import CLEXModel
import CLEXTensor
import Foundation
import XCTest

/// `clex` run as users run it: exit codes, messages, the traps of issue 13, the fuzzer.
final class CommandLineProcessTests: XCTestCase {
    var sandbox: Sandbox!

    override func setUpWithError() throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: ClexProcess.executable),
                      "\(ClexProcess.executable) is missing: build with swift build --build-tests")
        sandbox = try Sandbox()
    }

    override func tearDown() { sandbox.remove() }

    func run(_ args: [String]) throws -> ClexProcess.Result { try ClexProcess.run(args, in: sandbox.path) }

    /// Each trap class of issue 13 ends with exit status `expected` and, when not 0, a message.
    func testTheSixTrapClassesEndWithAMessage() throws {
        let m = sandbox.model, t = sandbox.text
        let cases: [([String], Int32)] = [
            (["generate", "-m", m, "-p", "hi", "--seed", "-1", "-n", "2"], 0),
            (["chat", "-m", m, "--seed", "-1", "-n", "2"], 0),
            (["train", "--preset", "tiny", "--data", t, "--out", sandbox.file("run"), "--seed", "-1", "--steps", "1",
              "--batch", "1", "--context", "16"], 0),
            (["generate", "-m", m, "-p", "hi", "-n", "9223372036854775807"], 2),
            (["generate", "-m", m, "-p", "hi", "-n", "99999999"], 2),
            (["generate", "-m", m, "-p", "hi", "--context", "99999999"], 2),
            (["generate", "-m", sandbox.clexModel, "-p", "hi", "-n", "1000"], 1),
            (["eval", "ppl", "-m", m, "--text", t, "--lengths", "9999999999999999k"], 2),
            (["eval", "passkey", "-m", m, "--lengths", "9999999999999999k"], 2),
            (["rope", "--method", "none", "--dim", "64", "--lengths", "1e30"], 2),
            (["rope", "--method", "clex", "--dim", "64", "--t", "1e30"], 2),
            (["eval", "ppl", "-m", m, "--text", t, "--lengths", "32", "--windows", "1", "--out", sandbox.file("e"), "--quiet",
              "--methods", "--rope-scaling yarn --rope-scale 1e20"], 0),
        ]
        for (args, expected) in cases {
            let r = try run(args)
            XCTAssertFalse(r.signaled, "clex \(args.joined(separator: " ")) died by a signal: \(r.stderr.prefix(500))")
            XCTAssertEqual(r.status, expected, "clex \(args.joined(separator: " ")): \(r.stderr.prefix(500))")
            if r.status != 0 { XCTAssertFalse(r.stderr.isEmpty, "clex \(args.joined(separator: " ")) failed silently") }
        }
    }

    /// What `clex fuzz args` found (each trapped before its fix): an empty `=` group and
    /// `--ctx-train=` in --methods, one-character paths (Foundation's deletingLastPathComponent),
    /// and a benchmark with fewer tokens than its warm-up.
    func testTrapsTheFuzzerFound() throws {
        let m = sandbox.model, t = sandbox.text
        try FileManager.default.copyItem(atPath: m, toPath: sandbox.file("x"))
        let cases: [([String], Int32)] = [
            (["eval", "ppl", "-m", m, "--text", t, "--lengths", "16", "--windows", "1", "--quiet", "--methods", "="], 1),
            (["eval", "ppl", "-m", m, "--text", t, "--lengths", "16", "--windows", "1", "--quiet", "--methods=--ctx-train="], 1),
            (["eval", "ppl", "-m", m, "--text", t, "--lengths", "16", "--windows", "1", "--quiet", "--save-tokens", "2"], 0),
            (["info", "x"], 0),
            (["generate", "-m", "x", "-p", "a", "-n", "1"], 0),
            (["export", "-m", m, "--out", ","], 0),
            (["bench", "infer", "-m", m, "--quick", "--prefill", "8", "--contexts", "8", "--decode-tokens", "2"], 0),
        ]
        for (args, expected) in cases {
            let r = try run(args)
            XCTAssertFalse(r.signaled, "clex \(args.joined(separator: " ")) died by a signal: \(r.stderr.prefix(500))")
            XCTAssertEqual(r.status, expected, "clex \(args.joined(separator: " ")): \(r.stderr.prefix(500))")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: sandbox.file("2")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: sandbox.file(",/model.safetensors")))
    }

    /// Usage errors: exit 2 with the failing command's usage, not the whole help.
    func testUsageErrorsShowTheCommandsUsage() throws {
        let r = try run(["generate", "-m", sandbox.model, "-p", "x", "--tmep", "0"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.hasPrefix("clex generate: unknown option '--tmep' for generate; did you mean --temp?\nusage: clex generate"),
                      r.stderr)
        XCTAssertFalse(r.stderr.contains("commands:"))
        let missing = try run(["generate", "-m", sandbox.file("absent.gguf"), "-p", "x"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("absent.gguf does not exist"), missing.stderr)
        let version = try run(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertTrue(version.stdout.hasPrefix("clex "), version.stdout)
        let help = try run(["help", "eval", "ppl"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.hasPrefix("usage: clex eval ppl"), help.stdout)
    }

    /// `-ctk/-ctv` choose the KV cache's types on every command that runs a model; a bad name is
    /// a usage error listing the types; `info --context N` gives the memory of each type.
    func testCacheTypes() throws {
        let m = sandbox.model
        let bad = try run(["generate", "-m", m, "-p", "hi", "-n", "2", "-ctk", "q5_1"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("--cache-type-k: unknown cache type \"q5_1\" (expected one of f32, f16, bf16, q8_0, q4_0)"),
                      bad.stderr)
        for args in [["generate", "-m", m, "-p", "hi", "-n", "2", "-ctk", "f32", "--cache-type-v=bf16"],
                     ["eval", "ppl", "-m", m, "--text", sandbox.text, "--lengths", "16", "--windows", "1", "--quiet",
                      "-ctk", "bf16", "-ctv", "f32", "--out", sandbox.file("e")],
                     ["bench", "infer", "-m", m, "--quick", "--prefill", "8", "--contexts", "8", "--decode-tokens", "2", "-ctv", "f32"]] {
            let r = try run(args)
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
        }
        let info = try run(["info", m, "--context", "1000", "--json"])
        XCTAssertEqual(info.status, 0, info.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        let plans = try XCTUnwrap(object["context"] as? [[String: Any]])
        XCTAssertEqual(plans.map { $0["cache_type_k"] as? String }, ["f32", "f16", "bf16", "q8_0", "q4_0"])
        let (layers, kv, d) = (try XCTUnwrap(object["layers"] as? Int), try XCTUnwrap(object["key_value_heads"] as? Int),
                               try XCTUnwrap(object["head_dim"] as? Int))
        XCTAssertEqual(plans[1]["cache_bytes_per_token"] as? Int, layers * 2 * kv * d * 2)
        XCTAssertEqual(plans[1]["cache_bytes"] as? Int, 1000 * layers * 2 * kv * d * 2)
    }

    /// `info --json` is one JSON object with the architecture; `clex help CMD` works for every command.
    func testInfoJSONAndHelpOfEveryCommand() throws {
        let r = try run(["info", sandbox.clexModel, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["layers"] as? Int, 1)
        XCTAssertEqual(object["hidden_size"] as? Int, 32)
        XCTAssertEqual(object["context_length"] as? Int, 64)
        XCTAssertEqual((object["rope_keys"] as? [String: Any])?["rope_scaling.max_factor"] as? String, "4")
        for command in CommandLineTool.commands {
            let help = try run(["help"] + command.spec.name.split(separator: " ").map(String.init))
            XCTAssertEqual(help.status, 0, "clex help \(command.spec.name): \(help.stderr)")
            XCTAssertEqual(help.stdout, command.help + "\n")
        }
    }

    /// The issue's example runs, on one thread, and says so.
    func testLlamaCppStyleGenerate() throws {
        let r = try run(["generate", "-m", sandbox.model, "-p", "to be", "-n", "8", "-t", "1", "-c", "256", "--temp", "0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("to be"), r.stdout)
        XCTAssertTrue(r.stderr.contains("8 generated") && r.stderr.contains("1 threads"), r.stderr)
        let quiet = try run(["generate", "-m", sandbox.model, "-p", "to be", "-n", "2", "--no-display-prompt"])
        XCTAssertFalse(quiet.stdout.hasPrefix("to be"), quiet.stdout)
    }

    /// `generate --json` on a CLEX checkpoint gives the tokens of the same method run token by
    /// token (greedy), across the step from t = 1 to t = 2 at 64 tokens.
    func testGenerateJSONOnCLEXMatchesTokenByToken() throws {
        let prompt = String(repeating: "to be or not ", count: 4)
        let r = try run(["generate", "-m", sandbox.clexModel, "-p", prompt, "-n", "30", "--json", "--ignore-eos", "-t", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let promptTokens = try XCTUnwrap(object["prompt_tokens"] as? [Int]).map(Int32.init)
        let tokens = try XCTUnwrap(object["tokens"] as? [Int]).map(Int32.init)
        XCTAssertEqual(tokens.count, 30)
        XCTAssertEqual(object["threads"] as? Int, 1)
        XCTAssertTrue((object["positional"] as? String ?? "").hasPrefix("clex"), "\(object["positional"] ?? "")")
        XCTAssertLessThan(promptTokens.count, 64)
        XCTAssertGreaterThan(promptTokens.count + tokens.count, 64, "generation must cross L = 64, where t steps to 2")

        let loaded = try ModelLoader.load(sandbox.clexModel)
        let method = try loaded.positionalMethod().method
        let session = try InferenceSession(model: loaded.model, capacity: promptTokens.count + tokens.count, positional: method)
        var expected: [Int32] = []
        var logits = Tensor(zeros: [0])
        for token in promptTokens { logits = try session.feed([token], logits: .last) }
        for _ in 0..<tokens.count {
            var best = 0
            for i in 1..<logits.shape[1] where logits.pointer[i] > logits.pointer[best] { best = i }
            expected.append(Int32(best))
            if expected.count < tokens.count { logits = try session.feed([Int32(best)], logits: .last) }
        }
        XCTAssertEqual(tokens, expected)
    }

    /// `--clex-prefill` and `--protocol reference`: a bad mode, split with the reference protocol
    /// and a chunking the reference would score as NaN are refused with what to do; `single`
    /// changes a CLEX perplexity past L = 64 and is what `generate --json` reports and computes.
    func testPrefillAndReferenceProtocol() throws {
        let m = sandbox.clexModel, t = sandbox.text
        let bad = try run(["generate", "-m", m, "-p", "x", "--clex-prefill", "sideways"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("--clex-prefill expects one of split, single, got 'sideways'"), bad.stderr)
        let passkey = try run(["eval", "passkey", "-m", m, "--lengths", "64", "--clex-prefill", "both"])
        XCTAssertEqual(passkey.status, 2)
        XCTAssertTrue(passkey.stderr.contains("--clex-prefill expects one of split, single"), passkey.stderr)
        let ppl = ["eval", "ppl", "-m", m, "--text", t, "--windows", "1", "--quiet", "--out", sandbox.file("ppl")]
        let split = try run(ppl + ["--lengths", "32", "--protocol", "reference", "--chunk", "8", "--clex-prefill", "split"])
        XCTAssertEqual(split.status, 2)
        XCTAssertTrue(split.stderr.contains("--protocol reference reads each chunk with the rotation of its end"), split.stderr)
        let nan = try run(ppl + ["--lengths", "17", "--protocol", "reference", "--chunk", "8"])
        XCTAssertEqual(nan.status, 1)
        XCTAssertTrue(nan.stderr.contains("its loss is NaN; choose a chunk size C ≥ 2 with n mod C ≠ 1"), nan.stderr)
        let unknown = try run(ppl + ["--lengths", "32", "--protocol", "referenc"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("cached, reference"), unknown.stderr)
        let reference = try run(ppl + ["--lengths", "96", "--protocol", "reference", "--chunk", "48"])
        XCTAssertEqual(reference.status, 0, reference.stderr)
        XCTAssertTrue(reference.stdout.contains("CLEX reference calculate_perplexity, chunks of 48"), reference.stdout)
        // a window of 96 > L read as one forward (t = 2) or split at 64 (t = 1, then 2)
        func meanNLL(_ prefill: String) throws -> Double {
            let out = sandbox.file("ppl-\(prefill)")
            let r = try run(["eval", "ppl", "-m", m, "--text", t, "--windows", "1", "--quiet", "--out", out, "--lengths", "96",
                             "--clex-prefill", prefill])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stdout.contains("[prefill single"), prefill == "single", r.stdout)
            let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/ppl.json")))
                                       as? [String: Any])
            let cell = try XCTUnwrap((report["cells"] as? [[String: Any]])?.first)
            return try XCTUnwrap((cell["measurement"] as? [String: Any])?["meanNLL"] as? Double)
        }
        XCTAssertNotEqual(try meanNLL("single"), try meanNLL("split"))

        let prompt = String(repeating: "to be or not ", count: 8)
        let r = try run(["generate", "-m", m, "-p", prompt, "-n", "6", "--json", "--ignore-eos", "-t", "1", "--clex-prefill", "single"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["prefill"] as? String, "single")
        let promptTokens = try XCTUnwrap(object["prompt_tokens"] as? [Int]).map(Int32.init)
        XCTAssertGreaterThan(promptTokens.count, 64, "the prompt must cross L = 64")
        let loaded = try ModelLoader.load(m)
        let method = try loaded.positionalMethod().method
        func greedy(_ prefill: PrefillRotation) throws -> [Int32] {
            let session = try InferenceSession(model: loaded.model, capacity: promptTokens.count + 6, positional: method, prefill: prefill)
            var logits = try session.feed(promptTokens, logits: .last)
            var out: [Int32] = []
            for _ in 0..<6 {
                var best = 0
                for i in 1..<logits.shape[1] where logits.pointer[i] > logits.pointer[best] { best = i }
                out.append(Int32(best))
                logits = try session.feed([Int32(best)], logits: .last)
            }
            return out
        }
        XCTAssertEqual(try XCTUnwrap(object["tokens"] as? [Int]).map(Int32.init), try greedy(.single))
    }

    /// `clex fuzz args`: a few thousand mutated command lines, none ending in a trap or signal.
    func testMutatedCommandLinesAllEndWithAMessage() throws {
        let r = try run(["fuzz", "args", "--count", "3000", "--jobs", "2", "--time-limit", "20",
                         "--out", sandbox.file("fuzz-args")])
        XCTAssertEqual(r.status, 0, String(r.stdout.suffix(4000)))
        XCTAssertTrue(r.stdout.contains("fuzz args: 3000 command lines") && r.stdout.contains("; 0 failed"), String(r.stdout.suffix(2000)))
    }

    /// An output that cannot be written is refused before any compute, naming the flag.
    func testUnwritableOutputsAreRefusedFirst() throws {
        let blocker = sandbox.file("a-file")
        FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8))
        let out = (blocker as NSString).appendingPathComponent("sub")
        for args in [["eval", "ppl", "-m", sandbox.model, "--text", sandbox.text, "--lengths", "16", "--out", out],
                     ["export", "-m", sandbox.model, "--out", out],
                     ["train", "--preset", "tiny", "--data", sandbox.text, "--out", out, "--steps", "1"],
                     ["bench", "kernels", "--json", (out as NSString).appendingPathComponent("k.json")]] {
            let r = try run(args)
            XCTAssertEqual(r.status, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("a-file is a file, not a folder"), "\(args): \(r.stderr)")
        }
    }
}
