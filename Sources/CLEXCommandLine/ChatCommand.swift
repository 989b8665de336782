import CLEXModel
import Foundation

/// `clex chat`: an interactive ChatML conversation on stdin/stdout (see `ChatConversation`).
enum ChatCommand {
    static let spec = CommandSpec("chat", usage: "usage: clex chat -m FILE [--system TEXT] [options]",
                                  options: ModelRunOptions.options + [
                                      OptionSpec("--system", value: "TEXT"),
                                      OptionSpec("--max-tokens", ["-n", "--n-predict"], value: "N"),
                                  ])

    static let help = """
    \(spec.usage)

    Type a message and press return; the reply streams as it is generated. The KV cache is kept
    across turns, so each turn costs only its own tokens. /reset starts over, /quit (or end of
    input) ends. Works with piped input: printf 'Hello\\n/quit\\n' | clex chat --model FILE

      -m, --model FILE        GGUF, safetensors (file or directory with config.json) or llama2.c .bin
      --system TEXT           system message opening the conversation
      -n, --max-tokens N      tokens per reply at most, 1 … 16777216 (default 512; also --n-predict)
    \(ModelRunOptions.help)
    """

    static let command = Command(spec: spec, help: help, run: run)

    static func run(_ args: Arguments) throws -> Int32 {
        let modelPath = try args.required("--model")
        let system = args.string("--system")
        let maxTokens = try args.int("--max-tokens", 512, in: 1...ModelRunOptions.tokenLimit)
        let options = try ModelRunOptions(args)
        let run = try options.load(modelPath, args: args)
        run.warnUnlessChatML()
        let capacity = options.context ?? min(run.loaded.model.configuration.maxPositionEmbeddings, 4096)
        var generator = try run.generator(capacity: capacity, sampler: options.sampler)
        if options.ignoreEOS { generator.stopTokens = [] }
        var conversation = ChatConversation(generator: generator, system: system)
        let interactive = isatty(STDIN_FILENO) != 0
        if interactive { note("[\(modelPath): \(capacity)-token context; /reset starts over, /quit ends]") }
        while true {
            if interactive { write("> ") }
            guard let line = readLine(strippingNewline: true) else { break }
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            if text == "/quit" { break }
            if text == "/reset" {
                conversation.reset()
                note("[conversation reset]")
                continue
            }
            do {
                var progress: ProgressLine?
                let result = try conversation.reply(to: text, maxTokens: maxTokens, onPrefill: { fed, total in
                    if progress == nil { progress = ProgressLine(what: "prompt tokens", total: total) }
                    progress?.update(fed)
                }) { write($0) }
                write("\n")
                let rate = Double(result.tokens.count) / max(result.decodeSeconds, 1e-9)
                note(String(format: "[%d tokens at %.1f tok/s, stopped: %@; %d of %d context tokens used]",
                            result.tokens.count, rate, result.stopReason.rawValue, conversation.contextTokens, capacity))
            } catch {
                note("[\(error); /reset to start over]")
            }
        }
        return 0
    }

    private static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
