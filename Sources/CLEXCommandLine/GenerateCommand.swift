import CLEXModel
import CLEXTensor
import CLEXTokenizer
import Foundation

/// `clex generate`: continue a prompt with a model from a checkpoint file, under the checkpoint's
/// positional method (or the one the positional flags choose).
enum GenerateCommand {
    static let spec = CommandSpec("generate", usage: "usage: clex generate -m FILE (-p TEXT | -f FILE) [-n N] [options]",
                                  options: ModelRunOptions.options + [
                                      OptionSpec("--prompt", ["-p"], value: "TEXT"),
                                      OptionSpec("--file", ["-f"], value: "FILE"),
                                      OptionSpec("--chat", value: nil),
                                      OptionSpec("--system", value: "TEXT"),
                                      OptionSpec("--max-tokens", ["-n", "--n-predict"], value: "N"),
                                      OptionSpec("--stop", value: "TEXT"),
                                      OptionSpec("--no-display-prompt", value: nil),
                                      OptionSpec("--json", value: nil),
                                  ])

    static let help = """
    \(spec.usage)

      -m, --model FILE        GGUF, safetensors (file or directory with config.json) or llama2.c .bin
      -p, --prompt TEXT       the text to continue
      -f, --file FILE         read the prompt from FILE
      --chat                  wrap the prompt as a user turn of the ChatML template
      --system TEXT           system message for --chat
      -n, --max-tokens N      tokens to generate, 1 … 16777216, or -1: until end of text or a full
                              context (default 128; also --n-predict)
      --stop TEXT             stop when TEXT appears in the output
      --no-display-prompt     print only the generated text, not the prompt
      --json                  print one JSON object instead of streaming: prompt_tokens (ids), tokens
                              (generated ids), text, stop_reason, rates, threads, positional method, prefill
    \(ModelRunOptions.help)
    """

    static let command = Command(spec: spec, help: help, run: run)

    static func run(_ args: Arguments) throws -> Int32 {
        let modelPath = try args.required("--model")
        guard args.given("--prompt") != args.given("--file") else {
            throw UsageError("generate needs exactly one of --prompt TEXT or --file FILE", command: spec.name)
        }
        let json = args.flag("--json")
        let chat = args.flag("--chat")
        let system = args.string("--system")
        let stop = args.string("--stop")
        let maxTokens = try args.int("--max-tokens", in: -1...ModelRunOptions.tokenLimit) ?? 128
        guard maxTokens != 0 else {
            throw UsageError("--max-tokens expects an integer in 1 … \(ModelRunOptions.tokenLimit), or -1, got '0'", command: spec.name)
        }
        let options = try ModelRunOptions(args)
        let promptText: String
        if let file = args.string("--file") {
            guard let data = FileManager.default.contents(atPath: file) else { throw InputError("--file: cannot read \(file)") }
            promptText = String(decoding: data, as: UTF8.self)
        } else {
            promptText = try args.required("--prompt")
        }

        let run = try options.load(modelPath, args: args)
        var text = promptText
        if chat {
            var messages: [ChatTemplate.Message] = []
            if let system { messages.append(.init(role: "system", content: system)) }
            messages.append(.init(role: "user", content: promptText))
            text = ChatTemplate.chatML(messages)
        }
        let prompt = run.tokenizer.encode(text, addSpecial: true)
        guard !prompt.isEmpty else { throw InputError("the prompt is empty (it encodes to no tokens)") }
        let capacity: Int
        if let context = options.context {
            guard prompt.count < context else {
                throw InputError("the prompt takes \(prompt.count) tokens, which leaves no room in a --context of \(context)")
            }
            capacity = maxTokens < 0 ? context : min(context, prompt.count + maxTokens)
        } else {
            capacity = prompt.count + (maxTokens < 0 ? max(run.loaded.model.configuration.maxPositionEmbeddings - prompt.count, 1) : maxTokens)
        }
        var generator = try run.generator(capacity: capacity, sampler: options.sampler)
        if let stop { generator.stopStrings = [stop] }
        if options.ignoreEOS { generator.stopTokens = [] }
        let display = !json && !chat && !args.flag("--no-display-prompt")
        if display { FileHandle.standardOutput.write(Data(promptText.utf8)) }
        var progress = ProgressLine(what: "prompt tokens", total: prompt.count)
        let result = try generator.generate(prompt: prompt, maxTokens: maxTokens < 0 ? capacity : maxTokens,
                                            onPrefill: { progress.update($0) }) { piece in
            if !json { FileHandle.standardOutput.write(Data(piece.utf8)) }
        }
        let decodeRate = Double(result.tokens.count) / max(result.decodeSeconds, 1e-9)
        let prefillRate = Double(result.promptTokens) / max(result.prefillSeconds, 1e-9)
        if json {
            let report = GenerationJSON(prompt_tokens: prompt, tokens: result.tokens, text: result.text,
                                        stop_reason: result.stopReason.rawValue, prefill_tokens_per_second: prefillRate,
                                        decode_tokens_per_second: decodeRate, threads: Parallel.threadCount,
                                        positional: run.method.configuration.summary(), prefill: run.prefill.rawValue,
                                        context: capacity)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("")
            note(String(format: "[%d prompt tokens at %.1f tok/s, %d generated at %.1f tok/s, stopped: %@; %d threads]",
                        result.promptTokens, prefillRate, result.tokens.count, decodeRate,
                        result.stopReason.rawValue, Parallel.threadCount))
        }
        return 0
    }

    /// `generate --json`'s object.
    struct GenerationJSON: Encodable {
        var prompt_tokens: [Int32]
        var tokens: [Int32]
        var text: String
        var stop_reason: String
        var prefill_tokens_per_second: Double
        var decode_tokens_per_second: Double
        var threads: Int
        var positional: String
        var prefill: String
        var context: Int
    }
}
