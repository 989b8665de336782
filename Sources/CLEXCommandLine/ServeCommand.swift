import CLEXModel
import CLEXServer
import Foundation

/// `clex serve`: an OpenAI-compatible HTTP server over one model, with a KV cache per slot kept
/// across requests (see `SlotScheduler`, `OpenAIService`).
enum ServeCommand {
    static let spec = CommandSpec("serve", usage: "usage: clex serve -m FILE [--host ADDR] [--port N] [--parallel N] [options]",
                                  options: ModelRunOptions.options + [
                                      OptionSpec("--host", value: "ADDR"),
                                      OptionSpec("--port", value: "N"),
                                      OptionSpec("--parallel", ["-np"], value: "N"),
                                      OptionSpec("--queue", value: "N"),
                                      OptionSpec("--api-key", value: "KEY"),
                                      OptionSpec("--alias", ["-a"], value: "NAME"),
                                  ])

    static let help = """
    \(spec.usage)

    Serves POST /v1/chat/completions and /v1/completions (OpenAI's protocol, streamed as server-sent
    events with "stream": true), GET /v1/models and /health, POST /tokenize and /detokenize (as
    llama-server), and a chat page at /. Each slot keeps its KV cache between requests: a request
    reuses the longest prefix of its prompt that an idle slot holds and computes only the rest
    (usage.prompt_tokens_details.cached_tokens says how many were reused). Runs until interrupted.

      -m, --model FILE        GGUF, safetensors (file or directory with config.json) or llama2.c .bin
      --host ADDR             numeric address to listen on (default 127.0.0.1; 0.0.0.0 for every
                              interface: give --api-key then)
      --port N                TCP port, 0 … 65535 (default 8080; 0: any free port, printed)
      --parallel N            slots: requests generated at once, each with its own KV cache of
                              --context tokens, 1 … 64 (default 1; also -np)
      --queue N               requests that may wait for a slot, 1 … 4096 (default 64); past it: 503
      --api-key KEY           require 'Authorization: Bearer KEY' (all but / and /health)
      -a, --alias NAME        the model's name in /v1/models and replies (default: the file's name)
    \(ModelRunOptions.help)
      A request's temperature, top_p, top_k and seed override the sampling flags for that request.
    """

    static let command = Command(spec: spec, help: help, run: run)

    static func run(_ args: Arguments) throws -> Int32 {
        let modelPath = try args.required("--model")
        let host = args.string("--host") ?? "127.0.0.1"
        let address = try HTTPServer.Address(host: host, port: try args.int("--port", 8080, in: 0...65535))
        let parallel = try args.int("--parallel", 1, in: 1...64)
        let queueLimit = try args.int("--queue", 64, in: 1...4096)
        let apiKey = args.string("--api-key")
        if apiKey?.isEmpty == true { throw InputError("--api-key: expected a non-empty key") }
        let options = try ModelRunOptions(args)
        let run = try options.load(modelPath, args: args)
        run.warnUnlessChatML()
        let capacity = options.context ?? min(run.loaded.model.configuration.maxPositionEmbeddings, 4096)
        try ContextMemory(run.model.configuration, cacheTypes: options.cacheTypes).require(capacity * parallel)
        let sessions = try (0..<parallel).map { _ in try run.session(capacity: capacity) }
        let scheduler = SlotScheduler(sessions: sessions, tokenizer: run.tokenizer, queueLimit: queueLimit, ignoreEOS: options.ignoreEOS)
        let name = args.string("--alias") ?? URL(fileURLWithPath: modelPath).lastPathComponent
        let service = OpenAIService(scheduler: scheduler, tokenizer: run.tokenizer, defaults: options.sampler, modelName: name,
                                    apiKey: apiKey)
        scheduler.start()
        let server = try HTTPServer(address: address) { service.handle($0) }
        if host != "127.0.0.1" && host != "::1" && apiKey == nil {
            note("warning: listening on \(host) without --api-key: anyone who can reach this port can use the model")
        }
        let shown = host.contains(":") ? "[\(host)]" : host
        note("[clex serve: \(name) on http://\(shown):\(server.port)/ — \(parallel) slot(s) of \(capacity) tokens, "
             + "\(run.method.configuration.summary()), KV cache \(options.cacheTypes); Ctrl-C stops]")
        return withExtendedLifetime(server) {
            while true { sleep(3600) }
        }
    }
}
