import CLEXModel
import CLEXTokenizer
import Foundation

/// `clex generate`: continue a prompt with a model from a checkpoint file.
enum GenerateCommand {
    static let help = """
    usage: clex generate --model FILE --prompt TEXT [options]

      --model FILE        GGUF, safetensors (file or directory with config.json) or llama2.c .bin
      --prompt TEXT       the text to continue
      --chat              wrap the prompt as a user turn of the ChatML template
      --system TEXT       system message for --chat
      -n, --max-tokens N  tokens to generate (default 128)
      --temperature T     0 = greedy (default 0)
      --top-k K           keep the K most likely tokens (default 0 = all)
      --top-p P           nucleus sampling mass (default 1)
      --seed S            random seed for sampling (default 0)
      --stop TEXT         stop when TEXT appears in the output
      --context N         KV-cache capacity in tokens (default: prompt + max tokens)
    """ + "\n" + WeightsOption.help

    static func run(_ raw: [String]) throws -> Int32 {
        if raw.contains("--help") || raw.contains("-h") { print(help); return 0 }
        var args = try Arguments(raw.map { $0 == "-n" ? "--max-tokens" : $0 }, switches: ["--chat"])
        guard let modelPath = args.string("--model") else { throw UsageError("generate needs --model FILE") }
        guard let promptText = args.string("--prompt") else { throw UsageError("generate needs --prompt TEXT") }
        let chat = args.flag("--chat")
        let system = args.string("--system")
        let maxTokens = try args.int("--max-tokens", 128)
        let sampler = Sampler(temperature: try args.float("--temperature", 0), topK: try args.int("--top-k", 0),
                              topP: try args.float("--top-p", 1), seed: UInt64(try args.int("--seed", 0)))
        let stop = args.string("--stop")
        let contextOption = try args.int("--context", 0)
        let weights = try WeightsOption(&args)
        try args.rejectUnknown()
        try sampler.validate()
        guard maxTokens >= 1 else { throw UsageError("--max-tokens must be at least 1") }

        let loaded = try ModelLoader.load(modelPath)
        guard let tokenizer = loaded.tokenizer else { throw UsageError("\(modelPath) carries no tokenizer") }
        var text = promptText
        if chat {
            var messages: [ChatTemplate.Message] = []
            if let system { messages.append(.init(role: "system", content: system)) }
            messages.append(.init(role: "user", content: promptText))
            text = ChatTemplate.chatML(messages)
        }
        let prompt = tokenizer.encode(text, addSpecial: true)
        let capacity = contextOption > 0 ? contextOption : prompt.count + maxTokens
        let session = try InferenceSession(model: try weights.apply(to: loaded.model), capacity: capacity,
                                       rotary: InferenceSession.defaultRotary(loaded.model.configuration),
                                       precision: weights.precision)
        var generator = Generator(session: session, tokenizer: tokenizer, sampler: sampler)
        if let stop { generator.stopStrings = [stop] }
        if !chat { FileHandle.standardOutput.write(Data(promptText.utf8)) }
        let result = try generator.generate(prompt: prompt, maxTokens: maxTokens) { piece in
            FileHandle.standardOutput.write(Data(piece.utf8))
        }
        print("")
        let decodeRate = Double(result.tokens.count) / max(result.decodeSeconds, 1e-9)
        let prefillRate = Double(result.promptTokens) / max(result.prefillSeconds, 1e-9)
        FileHandle.standardError.write(String(format: "[%d prompt tokens at %.1f tok/s, %d generated at %.1f tok/s, stopped: %@]\n",
                                              result.promptTokens, prefillRate, result.tokens.count, decodeRate,
                                              result.stopReason.rawValue).data(using: .utf8)!)
        return 0
    }
}
