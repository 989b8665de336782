import CLEXModel
import CLEXServer
import CLEXTokenizer
import Foundation

/// `clex serve`'s request handling as a fuzz target: each input is the body of a POST to every
/// endpoint that reads one, answered by the real `OpenAIService` over a tiny model with the byte
/// tokenizer (a running scheduler with one slot of 256 tokens, so accepted requests generate;
/// a streamed reply is cancelled at once, as by a client that left).
/// An answer must be 200, or an OpenAI-shaped JSON error with status 400, 413 or 503; anything
/// else is reported as an unexpected error. An input every endpoint refuses has the chat
/// endpoint's refusal as its error (for the runner's error kinds).
extension FuzzTarget {
    public static let serveRequest = FuzzTarget(
        name: "serve-request", summary: "clex serve request bodies: chat and text completions, tokenize, detokenize",
        format: .json, dictionary: serveWords, accepts: { $0.hasSuffix("request.json") },
        seeds: {
            FuzzService.warmUp()
            return serveSeeds.map { Array($0.utf8) }
        }
    ) { input in
        let refusals = try ["/v1/chat/completions", "/v1/completions", "/tokenize", "/detokenize"].map { path in
            try FuzzService.check(FuzzService.shared.handle(HTTPServer.Request(method: "POST", path: path, body: input)), path: path)
        }
        if let refusal = refusals[0], !refusals.contains(where: { $0 == nil }) { throw refusal }
    }

    static let serveWords = [
        "messages", "role", "content", "system", "developer", "user", "assistant", "tool", "type", "text", "image_url", "prompt",
        "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "seed", "stop", "stream", "stream_options",
        "include_usage", "n", "model", "tokens", "add_special", "null", "true", "false", "-1", "0", "1e309", "2147483648",
    ]

    static let serveSeeds = [
        #"{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], "max_tokens": 4, "temperature": 0.7, "top_p": 0.9, "top_k": 5, "seed": 1, "stop": ["\n"]}"#,
        #"{"model": "x", "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}], "stream": true, "stream_options": {"include_usage": true}, "max_tokens": 3}"#,
        #"{"prompt": "Once upon a time", "max_tokens": 5, "stop": "time", "n": 1}"#,
        #"{"prompt": [72, 105], "max_tokens": 2, "stream": true}"#,
        #"{"content": "hello world", "add_special": true, "tokens": [104, 105]}"#,
    ]
}

/// The service the `serve-request` target answers with.
enum FuzzService {
    struct UnexpectedResponse: Error, CustomStringConvertible {
        let description: String
    }

    static let shared: OpenAIService = {
        let c = LlamaConfiguration(vocabularySize: 257, hiddenSize: 8, intermediateSize: 16, layerCount: 1, headCount: 2,
                                   keyValueHeadCount: 1, maxPositionEmbeddings: 256)
        let model = LlamaModel(configuration: c, parameters: LlamaParameters(randomFor: c, seed: 1))
        let session = try! InferenceSession(model: model, capacity: 256, positional: PositionalConfiguration(model: c).makeMethod(),
                                            precision: .float32, cacheTypes: .f32)
        let scheduler = SlotScheduler(sessions: [session], tokenizer: ByteTokenizer(), queueLimit: 64)
        scheduler.start()
        return OpenAIService(scheduler: scheduler, tokenizer: ByteTokenizer(), defaults: Sampler(), modelName: "fuzz", apiKey: nil)
    }()

    /// Starts the service and reads a prompt as long as the context takes, before the runner
    /// limits the address space (from the seeds): the threads, their allocator arenas and
    /// OpenBLAS's buffers are then part of the size at the start, not of any input's budget.
    static func warmUp() {
        let body = #"{"prompt": "\#(String(repeating: "warm up ", count: 25))", "max_tokens": 40}"#
        _ = shared.handle(HTTPServer.Request(method: "POST", path: "/v1/completions", body: Array(body.utf8)))
    }

    /// The refusal `response` carries (nil: a success); throws unless it is a success or an
    /// OpenAI-shaped error of an expected status.
    static func check(_ response: HTTPServer.Response, path: String) throws -> APIError? {
        if case .stream(_, _, let stream, _) = response {
            stream.cancel()  // nobody reads it: the job stops instead of running on after the input
            return nil
        }
        guard case let .full(status, _, body, _) = response, status != 200 else { return nil }
        guard [400, 413, 503].contains(status) else {
            throw UnexpectedResponse(description: "\(path) answered status \(status)")
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        guard let error = object?["error"] as? [String: Any], let message = error["message"] as? String,
              let type = error["type"] as? String, let code = error["code"] as? String else {
            throw UnexpectedResponse(description: "\(path) answered \(status) without an OpenAI-shaped error")
        }
        return APIError(status: status, message: message, type: type, param: error["param"] as? String, code: code)
    }
}
