import CLEXTokenizer

/// A multi-turn ChatML conversation over one inference session: each turn feeds only its own new
/// tokens, and the KV cache keeps everything said before.
///
/// The transcript in the cache is exactly what `ChatTemplate.chatML` would give for the whole
/// conversation, with each reply as its generated tokens: a reply's closing `<|im_end|>\n` (the
/// model's stop token is sampled but not fed) and any generated token the generator did not feed
/// (the last one when a reply stops at the token limit) are fed at the start of the next turn.
public struct ChatConversation {
    public private(set) var generator: Generator
    /// The system message opening the conversation (and again after `reset`), if any.
    public let system: String?
    /// Generated tokens not yet in the cache.
    private var unfed: [Int32] = []
    /// Whether the last reply still needs its closing `<|im_end|>\n`.
    private var replyOpen = false

    /// A conversation generating with `generator` (whose session should be empty).
    public init(generator: Generator, system: String? = nil) {
        self.generator = generator
        self.system = system
    }

    /// Tokens in the session's cache.
    public var contextTokens: Int { generator.session.count }

    /// The tokens the next user turn `text` adds to the transcript: what the cache still lacks
    /// of the previous reply, then the turn, opening the assistant's reply.
    public func turnTokens(_ text: String) -> [Int32] {
        let first = generator.session.count == 0 && unfed.isEmpty
        var messages: [ChatTemplate.Message] = []
        if first, let system { messages.append(.init(role: "system", content: system)) }
        messages.append(.init(role: "user", content: text))
        let turn = (replyOpen ? "<|im_end|>\n" : "") + ChatTemplate.chatML(messages)
        return unfed + generator.tokenizer.encode(turn, addSpecial: first)
    }

    /// Answers `text`, streaming the reply through `onText`; at most `maxTokens` tokens.
    /// `onPrefill(fed, total)` follows the turn's prompt tokens as they are read (first with 0,
    /// before the first is read). Throws
    /// (leaving the conversation as it was) when the turn does not fit in the session.
    public mutating func reply(to text: String, maxTokens: Int, onPrefill: (Int, Int) -> Void = { _, _ in },
                               onText: (String) -> Void = { _ in }) throws -> Generator.Result {
        let prompt = turnTokens(text)
        let before = generator.session.count
        onPrefill(0, prompt.count)
        let result = try generator.generate(prompt: prompt, maxTokens: maxTokens, onPrefill: { onPrefill($0, prompt.count) },
                                            onText: onText)
        let fed = generator.session.count - before - prompt.count
        unfed = Array(result.tokens.suffix(result.tokens.count - fed))
        replyOpen = true
        return result
    }

    /// Forgets the conversation (the system message will open the next turn again).
    public mutating func reset() {
        generator.session.reset()
        unfed = []
        replyOpen = false
    }
}
