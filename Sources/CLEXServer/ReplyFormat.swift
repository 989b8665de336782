import Foundation

/// The JSON of one reply in OpenAI's shapes: `chat.completion` / `text_completion` objects, and
/// their server-sent-event chunks (`chat.completion.chunk`: the role, then content deltas, then
/// the finish reason; the usage after it when asked; then `data: [DONE]`). `usage` reports the
/// prompt tokens found in the cache as `prompt_tokens_details.cached_tokens`; `timings` (as
/// llama-server's) gives the prompt's and the reply's milliseconds.
struct ReplyFormat: Sendable {
    let endpoint: GenerationRequest.Endpoint
    let includeUsage: Bool
    let model: String
    let id: String
    let created = Int(Date().timeIntervalSince1970)

    init(request: GenerationRequest, model: String) {
        endpoint = request.endpoint
        includeUsage = request.includeUsage
        self.model = model
        id = (request.endpoint == .chat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    static func encode(_ object: [String: Any]) -> [UInt8] {
        [UInt8]((try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? Data())
    }

    private var objectName: String { endpoint == .chat ? "chat.completion" : "text_completion" }

    private func envelope(_ object: String, choices: [[String: Any]]) -> [String: Any] {
        ["id": id, "object": object, "created": created, "model": model, "choices": choices]
    }

    static func usage(_ s: GenerationJob.Summary) -> [String: Any] {
        ["prompt_tokens": s.promptTokens, "completion_tokens": s.completionTokens, "total_tokens": s.promptTokens + s.completionTokens,
         "prompt_tokens_details": ["cached_tokens": s.cachedTokens]]
    }

    static func timings(_ s: GenerationJob.Summary) -> [String: Any] {
        ["prompt_n": s.promptTokens - s.cachedTokens, "prompt_ms": s.prefillSeconds * 1000, "cache_n": s.cachedTokens,
         "predicted_n": s.completionTokens, "predicted_ms": s.decodeSeconds * 1000]
    }

    /// The whole reply, not streamed.
    func whole(text: String, summary: GenerationJob.Summary) -> [UInt8] {
        let choice: [String: Any] = endpoint == .chat
            ? ["index": 0, "message": ["role": "assistant", "content": text], "logprobs": NSNull(), "finish_reason": summary.finishReason]
            : ["index": 0, "text": text, "logprobs": NSNull(), "finish_reason": summary.finishReason]
        var object = envelope(objectName, choices: [choice])
        object["usage"] = Self.usage(summary)
        object["timings"] = Self.timings(summary)
        return Self.encode(object)
    }

    private func event(_ object: [String: Any]) -> [UInt8] {
        Array("data: ".utf8) + Self.encode(object) + Array("\n\n".utf8)
    }

    private func chunk(_ piece: String?, finish: String?) -> [UInt8] {
        let reason: Any = finish ?? NSNull()
        if endpoint == .completion {
            return event(envelope("text_completion", choices: [["index": 0, "text": piece ?? "", "logprobs": NSNull(), "finish_reason": reason]]))
        }
        let delta: [String: Any] = piece.map { ["content": $0] } ?? [:]
        return event(envelope("chat.completion.chunk", choices: [["index": 0, "delta": delta, "logprobs": NSNull(), "finish_reason": reason]]))
    }

    /// The first event of a stream: the assistant's role (chat), nothing for text completions.
    func opening() -> [UInt8] {
        guard endpoint == .chat else { return [] }
        return event(envelope("chat.completion.chunk", choices: [["index": 0, "delta": ["role": "assistant", "content": ""],
                                                                   "logprobs": NSNull(), "finish_reason": NSNull()]]))
    }

    /// Writes the events for `event` to `stream`, closing it after the last.
    func write(_ event: GenerationJob.Event, to stream: ResponseStream) {
        switch event {
        case .text(let piece):
            stream.write(chunk(piece, finish: nil))
        case .finished(let summary):
            var bytes = chunk(nil, finish: summary.finishReason)
            if includeUsage {
                var last = envelope(endpoint == .chat ? "chat.completion.chunk" : "text_completion", choices: [])
                last["usage"] = Self.usage(summary)
                last["timings"] = Self.timings(summary)
                bytes += self.event(last)
            }
            stream.write(bytes + Array("data: [DONE]\n\n".utf8))
            stream.close()
        case .failed(let error):
            stream.write(Array("data: ".utf8) + error.body + Array("\n\ndata: [DONE]\n\n".utf8))
            stream.close()
        }
    }
}
