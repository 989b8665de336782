import CLEXCommandLine
import CLEXModel
import XCTest

/// The argument layer: aliases, `--flag=value`, unknown/repeated/value-less flags, range checks.
final class ArgumentsTests: XCTestCase {
    let generate = CLEXCommandLine.CommandLineTool.commands.first { $0.spec.name == "generate" }!.spec

    func usageMessage(_ words: [String], _ spec: CommandSpec? = nil) -> String? {
        do {
            _ = try Arguments(words, spec: spec ?? generate)
            return nil
        } catch let error as UsageError {
            return error.message
        } catch {
            return "unexpected \(error)"
        }
    }

    func testLlamaCppAliasesAndEqualsForm() throws {
        let args = try Arguments(["-m", "M", "-p", "hi", "-n", "8", "-t", "1", "-c", "256", "--temp", "0", "--top-k=5"], spec: generate)
        XCTAssertEqual(args.string("--model"), "M")
        XCTAssertEqual(args.string("--prompt"), "hi")
        XCTAssertEqual(try args.int("--max-tokens", 0, in: 1...100), 8)
        XCTAssertEqual(try args.int("--threads", 0, in: 1...100), 1)
        XCTAssertEqual(try args.int("--context", 0, in: 1...1000), 256)
        XCTAssertEqual(try args.double("--temperature", 1, in: 0...10), 0)
        XCTAssertEqual(try args.int("--top-k", 0, in: 0...10), 5)
        let long = try Arguments(["--n-predict", "3", "--ctx-size=64", "--threads", "2", "-s", "9"], spec: generate)
        XCTAssertEqual(try long.int("--max-tokens", 0, in: 1...100), 3)
        XCTAssertEqual(try long.int("--context", 0, in: 1...100), 64)
        XCTAssertEqual(try long.seed("--seed", 0), 9)
    }

    func testUnknownOptionNamesTheClosest() {
        XCTAssertEqual(usageMessage(["--tmep", "0"]), "unknown option '--tmep' for generate; did you mean --temp?")
        XCTAssertEqual(usageMessage(["--max-token", "3"]), "unknown option '--max-token' for generate; did you mean --max-tokens?")
        XCTAssertEqual(usageMessage(["--zzzzzzzzzzzz"]), "unknown option '--zzzzzzzzzzzz' for generate")
    }

    func testRepeatedFlagIsRefusedWhateverTheSpelling() {
        XCTAssertEqual(usageMessage(["--seed", "1", "-s", "2"]), "--seed is given twice (--seed and -s); give it once")
        XCTAssertEqual(usageMessage(["-n", "1", "-n", "2"]), "--max-tokens is given twice (-n); give it once")
    }

    func testAFlagNeverSwallowsTheNextFlag() {
        XCTAssertEqual(usageMessage(["--prompt", "--model", "x"]),
                       "--prompt needs a value TEXT (found --model); to give a value that starts with '-', write --prompt=VALUE")
        XCTAssertEqual(usageMessage(["--model"]),
                       "--model needs a value FILE (found the end of the line); to give a value that starts with '-', write --model=VALUE")
        XCTAssertEqual(try Arguments(["--prompt=--model"], spec: generate).string("--prompt"), "--model")
    }

    func testNegativeNumbersAndGroupsAreValues() throws {
        let args = try Arguments(["--seed", "-1", "--rope-scale", "-2", "--stop", "-"], spec: generate)
        XCTAssertEqual(args.string("--rope-scale"), "-2")
        XCTAssertEqual(args.string("--stop"), "-")
        let eval = CommandLineTool.commands.first { $0.spec.name == "eval ppl" }!.spec
        let groups = try Arguments(["--methods", "--rope-scaling yarn --rope-scale 4"], spec: eval)
        XCTAssertEqual(groups.string("--methods"), "--rope-scaling yarn --rope-scale 4")
    }

    func testStrayWordsAndSwitchValues() {
        XCTAssertEqual(usageMessage(["extra"]), "unexpected argument 'extra'; generate takes only options")
        XCTAssertEqual(usageMessage(["--json=maybe"]), "--json is a switch: it takes no value, or =true / =false (found 'maybe')")
    }

    func testRangesNameTheFlagAndWhatItAccepts() throws {
        let args = try Arguments(["-n", "9223372036854775808", "--temp", "nan", "--top-p", "2", "-c", "99999999",
                                  "--seed", "-2", "--rope-scale", "1e400"], spec: generate)
        func message(_ body: () throws -> Any) -> String? {
            do { _ = try body(); return nil } catch { return (error as? UsageError)?.message }
        }
        XCTAssertEqual(message { try args.int("--max-tokens", 1, in: 1...100) },
                       "--max-tokens expects an integer in 1 … 100, got '9223372036854775808'")
        XCTAssertEqual(message { try args.double("--temperature", 0, in: 0...100) }, "--temperature expects a number in 0 … 100, got 'nan'")
        XCTAssertEqual(message { try args.double("--top-p", 1, in: 1e-9...1) }, "--top-p expects a number in 1e-09 … 1, got '2'")
        XCTAssertEqual(message { try args.int("--context", 2, in: 2...16_777_216) },
                       "--context expects an integer in 2 … 16777216, got '99999999'")
        XCTAssertEqual(message { try args.seed("--seed", 0) },
                       "--seed expects an integer in 0 … 18446744073709551615, or -1 for a random seed, got '-2'")
        let lengths = try Arguments(["--lengths", "2k,9999999999999999k"],
                                    spec: CommandLineTool.commands.first { $0.spec.name == "eval ppl" }!.spec)
        XCTAssertEqual(message { try lengths.integers("--lengths", in: 2...16_777_216) as Any },
                       "--lengths expects comma-separated integers in 2 … 16777216 (\"2k\" = 2048), got '2k,9999999999999999k'")
    }

    func testPositionalFlagsReachTheConfiguration() throws {
        let args = try Arguments(["--rope-scaling=yarn", "--rope-scale", "4", "--yarn-orig-ctx", "64"], spec: generate)
        XCTAssertEqual(args.positionalOverrides(), ["--rope-scale=4", "--rope-scaling=yarn", "--yarn-orig-ctx=64"])
        let model = LlamaConfiguration(vocabularySize: 8, hiddenSize: 32, intermediateSize: 8, layerCount: 1, headCount: 2,
                                       headDimension: 16, ropeTheta: 10000, maxPositionEmbeddings: 64)
        let (c, rest) = try PositionalConfiguration(model: model).applyingCommandLine(args.positionalOverrides())
        XCTAssertEqual(rest, [])
        guard case .yarn(let y) = c.scheme else { return XCTFail("expected yarn, got \(c.scheme)") }
        XCTAssertEqual(y.factor, 4)
        XCTAssertEqual(y.originalContextLength, 64)
    }

    func testEveryHelpListsEveryOption() {
        for command in CommandLineTool.commands {
            for option in command.spec.options where option.name != "--help" {
                let listed = command.help.contains(option.name)
                    || (CommandSpec.positionalOptions.contains { $0.name == option.name } && command.help.contains("positional"))
                XCTAssertTrue(listed, "clex help \(command.spec.name) does not list \(option.name)")
            }
        }
    }
}
