import CLEXModel
import Foundation

/// A request to generate — the body of `POST /v1/chat/completions` or `/v1/completions` — read
/// and checked. Fields OpenAI defines that the server does not use (`model`, `user`,
/// `presence_penalty`, …) are accepted and ignored, as other OpenAI-compatible servers do;
/// a field it uses with a bad value is refused with a 400 naming the field and what it accepts.
public struct GenerationRequest: Sendable, Equatable {
    /// Which endpoint the body came to.
    public enum Endpoint: String, Sendable {
        case chat = "/v1/chat/completions", completion = "/v1/completions"
    }

    /// What to continue: a conversation (rendered with the chat template), text, or token ids.
    public enum Prompt: Sendable, Equatable {
        case messages([ChatTemplate.Message])
        case text(String)
        case tokens([Int32])
    }

    /// Most tokens a request may ask for (the context refuses far less).
    public static let tokenLimit = 1 << 24
    /// Most stop strings.
    public static let stopLimit = 16
    /// Roles a chat message may have.
    public static let roles = ["system", "developer", "user", "assistant"]

    public var endpoint: Endpoint
    public var prompt: Prompt
    /// `max_tokens` (or `max_completion_tokens`); nil: until the end of text or a full context.
    public var maxTokens: Int?
    public var temperature: Float?
    public var topP: Float?
    public var topK: Int?
    public var seed: UInt64?
    public var stop: [String] = []
    public var stream = false
    /// `stream_options.include_usage`: a last chunk with the usage before `[DONE]`.
    public var includeUsage = false

    /// Reads `body` sent to `endpoint`. Throws a 400 naming the field at fault.
    public init(endpoint: Endpoint, body: [UInt8]) throws(APIError) {
        self.endpoint = endpoint
        do {
            let fields = try JSONFields(data: Data(body), source: "request")
            prompt = try Self.prompt(fields, endpoint: endpoint)
            try read(fields)
        } catch let error as ConfigurationError {
            throw APIError.invalid(error)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.invalid(nil, "the request body: \(error)")
        }
    }

    private static func prompt(_ fields: JSONFields, endpoint: Endpoint) throws -> Prompt {
        switch endpoint {
        case .chat:
            guard let list = try fields.objects("messages") else {
                throw fields.error("messages", "required: an array of {\"role\", \"content\"} objects")
            }
            guard !list.isEmpty else { throw fields.error("messages", "expected at least one message") }
            return .messages(try list.map(message))
        case .completion:
            guard fields.has("prompt") else { throw fields.error("prompt", "required: a string (or an array of token ids)") }
            if let ids = fields.object["prompt"] as? [Any], !ids.isEmpty, ids.allSatisfy({ $0 is NSNumber }) {
                guard let tokens = try fields.doubles("prompt")?.map({ Int32(exactly: $0) }), !tokens.contains(nil) else {
                    throw fields.error("prompt", "expected token ids (integers) in an array of numbers")
                }
                return .tokens(tokens.map { $0! })
            }
            guard let texts = try fields.strings("prompt"), texts.count == 1 else {
                throw fields.error("prompt", "expected one string, an array of one string or an array of token ids")
            }
            return .text(texts[0])
        }
    }

    /// One chat message: a role and its content (a string, or an array of `{"type": "text"}` parts).
    private static func message(_ fields: JSONFields) throws -> ChatTemplate.Message {
        guard let role = try fields.string("role") else { throw fields.error("role", "required: one of \(roles.joined(separator: ", "))") }
        guard roles.contains(role) else {
            throw fields.error("role", "expected one of \(roles.joined(separator: ", ")), found '\(role)'")
        }
        if let parts = try? fields.objects("content") {
            let texts = try parts.map { part in
                guard try part.string("type") == "text", let text = try part.string("text") else {
                    throw part.error("type", "only {\"type\": \"text\", \"text\": …} parts are supported")
                }
                return text
            }
            return .init(role: role == "developer" ? "system" : role, content: texts.joined(separator: "\n"))
        }
        guard let content = try fields.string("content") else {
            throw fields.error("content", "required: a string or an array of text parts")
        }
        return .init(role: role == "developer" ? "system" : role, content: content)
    }

    private mutating func read(_ fields: JSONFields) throws {
        if let n = try fields.int("n"), n != 1 { throw fields.error("n", "only 1 choice per request is supported, found \(n)") }
        if let limit = try fields.int("max_tokens") ?? fields.int("max_completion_tokens") {
            guard (1...Self.tokenLimit).contains(limit) else {
                throw fields.error(fields.has("max_tokens") ? "max_tokens" : "max_completion_tokens",
                                   "expected an integer in 1 … \(Self.tokenLimit), found \(limit)")
            }
            maxTokens = limit
        }
        if let t = try fields.double("temperature") {
            guard (0...2).contains(t) else { throw fields.error("temperature", "expected a number in 0 … 2, found \(t)") }
            temperature = Float(t)
        }
        if let p = try fields.double("top_p") {
            guard p > 0, p <= 1 else { throw fields.error("top_p", "expected a number in (0, 1], found \(p)") }
            topP = Float(p)
        }
        if let k = try fields.int("top_k") {
            guard k >= 0 else { throw fields.error("top_k", "expected an integer ≥ 0 (0: no limit), found \(k)") }
            topK = k
        }
        if let s = try fields.int("seed") {
            guard s >= 0 else { throw fields.error("seed", "expected an integer ≥ 0, found \(s)") }
            seed = UInt64(s)
        }
        if let stops = try fields.strings("stop") {
            guard stops.count <= Self.stopLimit else {
                throw fields.error("stop", "expected at most \(Self.stopLimit) stop strings, found \(stops.count)")
            }
            if let i = stops.firstIndex(where: \.isEmpty) { throw fields.error("stop[\(i)]", "expected a non-empty string") }
            stop = stops
        }
        stream = try fields.bool("stream") ?? false
        if let options = try fields.object("stream_options") { includeUsage = try options.bool("include_usage") ?? false }
    }

    /// The sampler for this request: the server's (`clex serve --temp …`) with the request's
    /// settings over it.
    public func sampler(defaults: Sampler) -> Sampler {
        var sampler = defaults
        if let temperature { sampler.temperature = temperature }
        if let topP { sampler.topP = topP }
        if let topK { sampler.topK = topK }
        if let seed { sampler.reseed(seed) }
        return sampler
    }
}
