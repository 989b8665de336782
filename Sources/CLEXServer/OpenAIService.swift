import CLEXModel
import CLEXTokenizer
import Foundation

/// The endpoints of `clex serve`: OpenAI's chat and text completions (streamed as server-sent
/// events or not), the model list, and llama-server's `/health`, `/tokenize`, `/detokenize`;
/// the chat page at `/`. Routes a request, checks its key, reads its body and hands generation
/// to the `SlotScheduler`; every refusal is an `APIError`.
public final class OpenAIService: Sendable {
    let scheduler: SlotScheduler
    let tokenizer: any Tokenizer
    /// The sampler of `clex serve`'s flags, which a request's own settings override.
    let defaults: Sampler
    /// The name `/v1/models` lists and responses carry.
    public let modelName: String
    /// The key a request must bear (`Authorization: Bearer KEY`), if any.
    let apiKey: String?
    let created = Int(Date().timeIntervalSince1970)

    /// Paths and the methods they take; `/` and `/health` need no key.
    static let routes: [String: String] = [
        "/": "GET", "/health": "GET", "/v1/models": "GET", "/models": "GET",
        "/v1/chat/completions": "POST", "/chat/completions": "POST", "/v1/completions": "POST", "/completions": "POST",
        "/tokenize": "POST", "/detokenize": "POST",
    ]
    static let open: Set<String> = ["/", "/health"]

    public init(scheduler: SlotScheduler, tokenizer: any Tokenizer, defaults: Sampler, modelName: String, apiKey: String?) {
        self.scheduler = scheduler
        self.tokenizer = tokenizer
        self.defaults = defaults
        self.modelName = modelName
        self.apiKey = apiKey
    }

    /// Answers `request` (on its connection's thread; waits while a reply that is not streamed
    /// is generated).
    public func handle(_ request: HTTPServer.Request) -> HTTPServer.Response {
        do {
            return try route(request)
        } catch {
            return Self.error(error)
        }
    }

    private func route(_ request: HTTPServer.Request) throws(APIError) -> HTTPServer.Response {
        guard let allowed = Self.routes[request.path] else { throw .notFound(request.path) }
        let method = request.method == "HEAD" ? "GET" : request.method
        guard method == allowed else { throw .methodNotAllowed(request.method, request.path, allowed: allowed) }
        if let apiKey, !Self.open.contains(request.path), request.headers["authorization"] != "Bearer \(apiKey)" {
            throw .unauthorized
        }
        guard !request.bodyTooLarge else { throw .bodyTooLarge(limit: HTTPServer.defaultBodyLimit) }
        switch request.path {
        case "/": return .full(status: 200, contentType: "text/html; charset=utf-8", body: Array(ChatPage.html.utf8), headers: [:])
        case "/health":
            let load = scheduler.load
            return Self.json(["status": "ok", "slots_idle": load.idle, "slots_processing": load.busy, "queued": load.queued])
        case "/v1/models", "/models":
            return Self.json(["object": "list", "data": [["id": modelName, "object": "model", "created": created, "owned_by": "clex"]]])
        case "/tokenize": return try tokenize(request.body)
        case "/detokenize": return try detokenize(request.body)
        case "/v1/chat/completions", "/chat/completions": return try generate(GenerationRequest(endpoint: .chat, body: request.body), request)
        default: return try generate(GenerationRequest(endpoint: .completion, body: request.body), request)
        }
    }

    /// `{"content": TEXT, "add_special": BOOL}` → `{"tokens": [ids]}`.
    private func tokenize(_ body: [UInt8]) throws(APIError) -> HTTPServer.Response {
        do {
            let fields = try JSONFields(data: Data(body), source: "request")
            guard let content = try fields.string("content") else { throw fields.error("content", "required: the text to tokenize") }
            return Self.json(["tokens": tokenizer.encode(content, addSpecial: try fields.bool("add_special") ?? false).map(Int.init)])
        } catch let error as ConfigurationError {
            throw .invalid(error)
        } catch {
            throw .invalid(nil, "\(error)")
        }
    }

    /// `{"tokens": [ids]}` → `{"content": TEXT}`.
    private func detokenize(_ body: [UInt8]) throws(APIError) -> HTTPServer.Response {
        do {
            let fields = try JSONFields(data: Data(body), source: "request")
            let ids = try tokenIDs(fields, "tokens")
            return Self.json(["content": tokenizer.decode(ids)])
        } catch let error as ConfigurationError {
            throw .invalid(error)
        } catch {
            throw .invalid(nil, "\(error)")
        }
    }

    /// A required array of token ids of this model's vocabulary.
    private func tokenIDs(_ fields: JSONFields, _ key: String) throws -> [Int32] {
        guard let values = try fields.doubles(key) else { throw fields.error(key, "required: an array of token ids") }
        return try values.enumerated().map { i, v in
            guard let id = Int32(exactly: v), id >= 0, Int(id) < tokenizer.vocabularySize else {
                throw fields.error("\(key)[\(i)]", "expected a token id in 0 … \(tokenizer.vocabularySize - 1), found \(v)")
            }
            return id
        }
    }

    /// The prompt's token ids: the conversation in the chat template, or the text, with the
    /// tokenizer's special tokens (BOS).
    func promptTokens(_ request: GenerationRequest) throws(APIError) -> [Int32] {
        let tokens: [Int32]
        switch request.prompt {
        case .messages(let messages): tokens = tokenizer.encode(ChatTemplate.chatML(messages), addSpecial: true)
        case .text(let text): tokens = tokenizer.encode(text, addSpecial: true)
        case .tokens(let ids):
            if let i = ids.firstIndex(where: { $0 < 0 || Int($0) >= tokenizer.vocabularySize }) {
                throw .invalid("prompt[\(i)]", "'prompt[\(i)]': expected a token id in 0 … \(tokenizer.vocabularySize - 1), found \(ids[i])")
            }
            tokens = ids
        }
        guard !tokens.isEmpty else {
            throw .invalid(request.endpoint == .chat ? "messages" : "prompt", "the prompt is empty (it encodes to no tokens)")
        }
        guard tokens.count < scheduler.capacity else {
            throw .contextExceeded(promptTokens: tokens.count, context: scheduler.capacity)
        }
        return tokens
    }

    private func generate(_ request: GenerationRequest, _ http: HTTPServer.Request) throws(APIError) -> HTTPServer.Response {
        let prompt = try promptTokens(request)
        let sampler = request.sampler(defaults: defaults)
        do { try sampler.validate() } catch { throw .invalid(nil, "\(error)") }
        let maxTokens = min(request.maxTokens ?? scheduler.capacity, scheduler.capacity - prompt.count)
        let reply = ReplyFormat(request: request, model: modelName)
        if request.stream {
            let stream = ResponseStream()
            let job = GenerationJob(prompt: prompt, sampler: sampler, maxTokens: maxTokens, stopStrings: request.stop) { event in
                reply.write(event, to: stream)
            }
            stream.onCancel { job.cancel() }
            stream.write(reply.opening())
            do {
                try scheduler.submit(job)
            } catch {
                stream.close()  // breaks the stream ↔ job cycle of a job that never runs
                throw error
            }
            return .stream(status: 200, contentType: "text/event-stream", stream: stream,
                           headers: ["Cache-Control": "no-cache", "X-Accel-Buffering": "no"])
        }
        let outcome = Outcome()
        let job = GenerationJob(prompt: prompt, sampler: sampler, maxTokens: maxTokens, stopStrings: request.stop) { outcome.add($0) }
        try scheduler.submit(job)
        guard let (text, summary) = try outcome.wait(cancelling: job, when: { http.clientGone }) else {
            return .full(status: 499, contentType: "text/plain", body: [], headers: [:])
        }
        return .full(status: 200, contentType: "application/json", body: reply.whole(text: text, summary: summary), headers: [:])
    }

    /// The events of a reply that is not streamed, gathered until it ends.
    final class Outcome: @unchecked Sendable {
        private let condition = NSCondition()
        private var text = ""
        private var summary: GenerationJob.Summary?
        private var failure: APIError?

        func add(_ event: GenerationJob.Event) {
            condition.lock()
            switch event {
            case .text(let piece): text += piece
            case .finished(let s): summary = s
            case .failed(let e): failure = e
            }
            condition.signal()
            condition.unlock()
        }

        /// The reply once it ends; nil (the job cancelled) if `gone` turns true first.
        func wait(cancelling job: GenerationJob, when gone: () -> Bool) throws(APIError) -> (String, GenerationJob.Summary)? {
            condition.lock()
            defer { condition.unlock() }
            while summary == nil && failure == nil {
                if !condition.wait(until: Date(timeIntervalSinceNow: 0.1)) && gone() {
                    job.cancel()
                    return nil
                }
            }
            if let failure { throw failure }
            return (text, summary!)
        }
    }

    static func json(_ object: [String: Any], status: Int = 200) -> HTTPServer.Response {
        .full(status: status, contentType: "application/json", body: ReplyFormat.encode(object), headers: [:])
    }

    static func error(_ error: APIError) -> HTTPServer.Response {
        .full(status: error.status, contentType: "application/json", body: error.body, headers: error.headers)
    }
}
