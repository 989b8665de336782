import CLEXModel
import CLEXServer
import CLEXTensor
import CLEXTokenizer
import Foundation
import Testing

/// The endpoints through a real server on a socket: OpenAI's shapes, streaming, the prompt
/// cache across requests, errors with their statuses, and a client hanging up mid-reply.
@Suite("clex serve", .serialized)
struct ServerTests {
    static func body(_ object: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    @Test("health, models, tokenize and detokenize")
    func simpleEndpoints() throws {
        let server = try TestServer()
        let health = try #require(server.request("GET", "/health"))
        #expect(health.status == 200)
        #expect(health.json?["status"] as? String == "ok")
        #expect(health.json?["slots_idle"] as? Int == 2)
        let models = try #require(server.request("GET", "/v1/models"))
        #expect(((models.json?["data"] as? [[String: Any]])?.first?["id"] as? String) == "tiny")
        let tokens = try #require(server.request("POST", "/tokenize", body: Self.body(["content": "hé"])))
        #expect(tokens.json?["tokens"] as? [Int] == [104, 195, 169])
        let text = try #require(server.request("POST", "/detokenize", body: Self.body(["tokens": [104, 195, 169]])))
        #expect(text.json?["content"] as? String == "hé")
        let page = try #require(server.request("GET", "/"))
        #expect(page.status == 200 && page.text.contains("/v1/chat/completions"))
    }

    @Test("a repeated prompt is read from the cache: same reply, cached_tokens counted")
    func promptCache() throws {
        let server = try TestServer(slots: 1)
        let request = Self.body(["prompt": String(repeating: "a long document. ", count: 6), "max_tokens": 8, "temperature": 0])
        let first = try #require(server.request("POST", "/v1/completions", body: request))
        #expect(first.status == 200, "\(first.text)")
        let usage = try #require(first.json?["usage"] as? [String: Any])
        let promptTokens = try #require(usage["prompt_tokens"] as? Int)
        #expect(promptTokens == 6 * 17)
        #expect((usage["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int == 0)
        let second = try #require(server.request("POST", "/v1/completions", body: request))
        let cached = (second.json?["usage"] as? [String: Any])?["prompt_tokens_details"] as? [String: Any]
        #expect(cached?["cached_tokens"] as? Int == promptTokens - 1)
        let text = { (r: TestServer.Reply) in ((r.json?["choices"] as? [[String: Any]])?.first?["text"] as? String) }
        #expect(text(first) != nil && text(first) == text(second))
        // A follow-up sharing the document reuses it.
        let followUp = Self.body(["prompt": String(repeating: "a long document. ", count: 6) + "Question?", "max_tokens": 4])
        let third = try #require(server.request("POST", "/v1/completions", body: followUp))
        let details = (third.json?["usage"] as? [String: Any])?["prompt_tokens_details"] as? [String: Any]
        #expect(details?["cached_tokens"] as? Int == promptTokens)
    }

    static func scale(_ t: Tensor, _ s: Float) { for i in 0..<t.count { t.pointer[i] *= s } }

    @Test("CLEX across steps of t and dynamic NTK: a follow-up read after a cached document answers as from scratch",
          arguments: ["clex", "dynamic"])
    func cachedEqualsScratch(method name: String) throws {
        // L = 16: the document (40 tokens) is read at t = 3, the follow-up and its reply reach t = 5.
        let c = LlamaConfiguration(vocabularySize: 257, hiddenSize: 32, intermediateSize: 48, layerCount: 2, headCount: 2,
                                   keyValueHeadCount: 1, maxPositionEmbeddings: 16)
        // Pretraining init makes attention nearly uniform whatever the rotation: larger attention
        // and head weights make the replies depend on positions.
        let parameters = LlamaParameters(randomFor: c, seed: 9)
        let scaled = parameters.layers.flatMap { [($0.query, 15), ($0.key, 15), ($0.value, 25), ($0.output, 25)] }
            + [(parameters.outputHead!, 25)]
        for (weight, factor) in scaled { Self.scale(weight.floatTensor!, Float(factor)) }
        let model = LlamaModel(configuration: c, parameters: parameters)
        func method() throws -> any PositionalMethod {
            if name == "dynamic" { return try PositionalConfiguration(model: c, scheme: .dynamic(factor: 8)).makeMethod() }
            let clex = try #require(try PositionalConfiguration(model: c, scheme: .clex(CLEXParameters(maxFactor: 8, timeStep: 0.05)))
                .makeMethod(seed: 1) as? CLEXPositional)
            var g = SeededGenerator(seed: 4)
            try clex.setLearnedParameter(CLEXCheckpointNames.down, to: Tensor.randomUniform([16, 8], low: -0.3, high: 0.3, generator: &g))
            return clex
        }
        let document = String(repeating: "The doc.", count: 5)
        func ask(_ server: TestServer, _ question: String) throws -> (text: String?, cached: Int?) {
            let reply = try #require(server.request("POST", "/v1/completions",
                                                    body: Self.body(["prompt": document + question, "max_tokens": 24])))
            let details = (reply.json?["usage"] as? [String: Any])?["prompt_tokens_details"] as? [String: Any]
            return ((reply.json?["choices"] as? [[String: Any]])?.first?["text"] as? String, details?["cached_tokens"] as? Int)
        }
        let warm = try TestServer(slots: 1, capacity: 128, model: model, positional: try method())
        _ = try ask(warm, " First question?")
        let cached = try ask(warm, " Second one?")
        #expect(cached.cached == document.utf8.count + 1)
        let scratch = try ask(try TestServer(slots: 1, capacity: 128, model: model, positional: try method()), " Second one?")
        #expect(scratch.cached == 0)
        #expect(cached.text != nil && cached.text == scratch.text, "\(name)")
        // The rotation matters to these replies: plain RoPE answers otherwise.
        let plain = try ask(try TestServer(slots: 1, capacity: 128, model: model), " Second one?")
        #expect(plain.text != scratch.text, "\(name)")
    }

    @Test("with two slots, each follow-up goes to the slot holding its document")
    func slotChoice() throws {
        let server = try TestServer(slots: 2)
        let documents = [String(repeating: "first document. ", count: 4), String(repeating: "second text here. ", count: 4)]
        func cached(_ prompt: String) throws -> Int? {
            let reply = try #require(server.request("POST", "/v1/completions", body: Self.body(["prompt": prompt, "max_tokens": 2])))
            return ((reply.json?["usage"] as? [String: Any])?["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int
        }
        for document in documents { #expect(try cached(document) == 0) }
        // The least recently used slot holds the first document; the second is asked about first.
        #expect(try cached(documents[1] + "Q1") == documents[1].utf8.count)
        #expect(try cached(documents[0] + "Q2") == documents[0].utf8.count)
        #expect(try cached(documents[1] + "Q3") == documents[1].utf8.count + 1)
    }

    @Test("chat streamed as server-sent events equals the reply not streamed, then [DONE]")
    func streaming() throws {
        let server = try TestServer()
        var request: [String: Any] = ["messages": [["role": "user", "content": "Hello"]], "max_tokens": 12, "seed": 3]
        let whole = try #require(server.request("POST", "/v1/chat/completions", body: Self.body(request)))
        #expect(whole.status == 200)
        #expect(whole.json?["object"] as? String == "chat.completion")
        let message = ((whole.json?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
        request["stream"] = true
        request["stream_options"] = ["include_usage": true]
        let streamed = try #require(server.request("POST", "/v1/chat/completions", body: Self.body(request)))
        #expect(streamed.status == 200)
        #expect(streamed.headers["content-type"] == "text/event-stream")
        let events = streamed.events
        #expect(events.last == "[DONE]")
        let chunks = events.dropLast().compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(chunks.count == events.count - 1)
        #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
        let deltas = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any] }
        #expect(deltas.first?["role"] as? String == "assistant")
        #expect(deltas.compactMap { $0["content"] as? String }.joined() == message)
        let reasons = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String }
        #expect(reasons.count == 1)
        let usage = try #require(chunks.last?["usage"] as? [String: Any])
        #expect(usage["completion_tokens"] as? Int == (whole.json?["usage"] as? [String: Any])?["completion_tokens"] as? Int)
    }

    @Test("bad requests get OpenAI-shaped errors with their statuses")
    func errors() throws {
        let server = try TestServer(capacity: 64, apiKey: nil)
        func check(_ reply: TestServer.Reply?, _ status: Int, param: String? = nil, mentions: String) throws {
            let reply = try #require(reply)
            #expect(reply.status == status, "\(reply.text)")
            let error = try #require(reply.json?["error"] as? [String: Any], "\(reply.text)")
            let message = try #require(error["message"] as? String)
            #expect(message.contains(mentions), "\(message)")
            #expect(error["type"] is String && error["code"] is String)
            if let param { #expect(error["param"] as? String == param) }
        }
        try check(server.request("GET", "/nowhere"), 404, mentions: "/v1/chat/completions")
        try check(server.request("GET", "/v1/chat/completions"), 405, mentions: "POST")
        try check(server.request("POST", "/v1/chat/completions", body: "{\"messages\": ["), 400, mentions: "JSON")
        try check(server.request("POST", "/v1/chat/completions", body: "[1]"), 400, mentions: "object")
        try check(server.request("POST", "/v1/chat/completions", body: "{}"), 400, param: "messages", mentions: "required")
        try check(server.request("POST", "/v1/chat/completions", body: Self.body(["messages": [["role": "robot", "content": "x"]]])),
                  400, param: "messages[0].role", mentions: "system, developer, user, assistant")
        try check(server.request("POST", "/v1/chat/completions", body: Self.body(["messages": [["role": "user", "content": "x"]],
                                                                                     "temperature": 7])),
                  400, param: "temperature", mentions: "0 … 2")
        try check(server.request("POST", "/v1/completions", body: Self.body(["prompt": "x", "max_tokens": 0])),
                  400, param: "max_tokens", mentions: "1 …")
        try check(server.request("POST", "/v1/completions", body: Self.body(["prompt": [1, 999]])),
                  400, param: "prompt[1]", mentions: "0 … 256")
        try check(server.request("POST", "/v1/completions", body: Self.body(["prompt": String(repeating: "x", count: 100)])),
                  413, mentions: "context of 64 tokens")
        try check(server.request("POST", "/detokenize", body: Self.body(["tokens": [-1]])), 400, param: "tokens[0]", mentions: "token id")
        #expect(server.request("GET", "/health")?.status == 200)
    }

    @Test("--api-key: 401 without the key, served with it; / and /health stay open")
    func apiKey() throws {
        let server = try TestServer(apiKey: "sesame")
        let request = Self.body(["prompt": "hi", "max_tokens": 2])
        #expect(server.request("POST", "/v1/completions", body: request)?.status == 401)
        #expect(server.request("POST", "/v1/completions", body: request, headers: ["Authorization": "Bearer wrong"])?.status == 401)
        #expect(server.request("POST", "/v1/completions", body: request, headers: ["Authorization": "Bearer sesame"])?.status == 200)
        #expect(server.request("GET", "/health")?.status == 200)
        #expect(server.request("GET", "/")?.status == 200)
    }

    @Test("a client hanging up mid-stream frees its slot; the next request is served")
    func disconnect() throws {
        let server = try TestServer(slots: 1, capacity: 4096)
        let body = Self.body(["prompt": "go", "max_tokens": 4000, "stream": true])
        let fd = server.connect()
        let head = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
        _ = Array(head.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var buffer = [UInt8](repeating: 0, count: 512)
        #expect(recv(fd, &buffer, buffer.count, 0) > 0)
        let load = try #require(server.request("GET", "/health")?.json)
        #expect((load["slots_processing"] as? Int ?? 0) + (load["queued"] as? Int ?? 0) == 1, "\(load)")
        close(fd)
        var idle = false
        for _ in 0..<100 where !idle {
            usleep(50_000)
            idle = server.request("GET", "/health")?.json?["slots_idle"] as? Int == 1
        }
        #expect(idle, "the slot is still busy 5 s after the client left")
        #expect(server.request("POST", "/v1/completions", body: Self.body(["prompt": "next", "max_tokens": 3]))?.status == 200)
    }

    @Test("past the queue: 503 with Retry-After")
    func queueFull() throws {
        let session = try InferenceSession(model: TestServer.model, capacity: 16,
                                           positional: PositionalConfiguration(model: TestServer.model.configuration).makeMethod())
        // Not started: nothing leaves the queue.
        let scheduler = SlotScheduler(sessions: [session], tokenizer: ByteTokenizer(), queueLimit: 2)
        let job = { GenerationJob(prompt: [1, 2], sampler: Sampler(), maxTokens: 1, stopStrings: []) { _ in } }
        try scheduler.submit(job())
        try scheduler.submit(job())
        #expect(throws: APIError.overloaded(queue: 2)) { try scheduler.submit(job()) }
        #expect(APIError.overloaded(queue: 2).headers["Retry-After"] == "1")
        #expect(scheduler.load.queued == 2)
    }
}
