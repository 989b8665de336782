import CLEXModel
import Foundation

/// `clex chat`: an interactive ChatML conversation on stdin/stdout (see `ChatConversation`).
enum ChatCommand {
    static let help = """
    usage: clex chat --model FILE [options]

    Type a message and press return; the reply streams as it is generated. The KV cache is kept
    across turns, so each turn costs only its own tokens. /reset starts over, /quit (or end of
    input) ends. Works with piped input: printf 'Hello\\n/quit\\n' | clex chat --model FILE

      --model FILE        GGUF, safetensors (file or directory with config.json) or llama2.c .bin
      --system TEXT       system message opening the conversation
      -n, --max-tokens N  tokens per reply at most (default 512)
      --temperature T     0 = greedy (default 0)
      --top-k K           keep the K most likely tokens (default 0 = all)
      --top-p P           nucleus sampling mass (default 1)
      --seed S            random seed for sampling (default 0)
      --context N         KV-cache capacity in tokens (default: the model's context, at most 4096)
    """ + "\n" + WeightsOption.help

    static func run(_ raw: [String]) throws -> Int32 {
        if raw.contains("--help") || raw.contains("-h") { print(help); return 0 }
        var args = try Arguments(raw.map { $0 == "-n" ? "--max-tokens" : $0 }, switches: [])
        guard let modelPath = args.string("--model") else { throw UsageError("chat needs --model FILE") }
        let system = args.string("--system")
        let maxTokens = try args.int("--max-tokens", 512)
        let sampler = Sampler(temperature: try args.float("--temperature", 0), topK: try args.int("--top-k", 0),
                              topP: try args.float("--top-p", 1), seed: UInt64(try args.int("--seed", 0)))
        let contextOption = try args.int("--context", 0)
        let weights = try WeightsOption(&args)
        try args.rejectUnknown()
        guard args.positional.isEmpty else { throw UsageError("unexpected argument '\(args.positional[0])' for chat") }
        try sampler.validate()
        guard maxTokens >= 1 else { throw UsageError("--max-tokens must be at least 1") }
        guard contextOption >= 0 else { throw UsageError("--context must be positive") }

        let loaded = try ModelLoader.load(modelPath)
        guard let tokenizer = loaded.tokenizer else { throw UsageError("\(modelPath) carries no tokenizer") }
        if tokenizer.id(forToken: "<|im_start|>") == nil || tokenizer.id(forToken: "<|im_end|>") == nil {
            note("warning: this tokenizer has no <|im_start|>/<|im_end|> tokens; the ChatML prompts will be plain text")
        }
        let c = loaded.model.configuration
        let capacity = contextOption > 0 ? contextOption : min(c.maxPositionEmbeddings, 4096)
        let session = try InferenceSession(model: try weights.apply(to: loaded.model), capacity: capacity,
                                       rotary: InferenceSession.defaultRotary(c), precision: weights.precision)
        var conversation = ChatConversation(generator: Generator(session: session, tokenizer: tokenizer, sampler: sampler),
                                            system: system)
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
                let result = try conversation.reply(to: text, maxTokens: maxTokens) { write($0) }
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

    private static func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
