import CLEXModel
import Synchronization

/// One request's generation, from the queue to its last token: the prompt and settings the
/// scheduler reads, and the events it reports back (on its own thread — a handler must only
/// buffer them, never wait on a client).
public final class GenerationJob: Sendable {
    /// What the scheduler reports.
    public enum Event: Sendable {
        /// Newly released text of the reply.
        case text(String)
        /// The reply ended.
        case finished(Summary)
        /// The model failed; the slot was freed.
        case failed(APIError)
    }

    /// The counts and times of a finished reply.
    public struct Summary: Sendable, Equatable {
        public var promptTokens: Int
        /// Prompt tokens found in a slot's cache (not computed again).
        public var cachedTokens: Int
        public var completionTokens: Int
        public var stopReason: Generator.StopReason
        /// Seconds from the job's start in a slot to its first token's logits, and from then
        /// to the end.
        public var prefillSeconds: Double
        public var decodeSeconds: Double

        /// OpenAI's `finish_reason`: "stop" (end of text or a stop string) or "length".
        public var finishReason: String {
            stopReason == .endOfSequence || stopReason == .stopString ? "stop" : "length"
        }
    }

    public let prompt: [Int32]
    public let sampler: Sampler
    /// Tokens to generate at most (the context may end the reply first).
    public let maxTokens: Int
    public let stopStrings: [String]
    let report: @Sendable (Event) -> Void
    private let cancelled = Atomic<Bool>(false)

    /// A job generating up to `maxTokens` tokens after `prompt`, reporting through `events`.
    public init(prompt: [Int32], sampler: Sampler, maxTokens: Int, stopStrings: [String],
                events: @escaping @Sendable (Event) -> Void) {
        self.prompt = prompt
        self.sampler = sampler
        self.maxTokens = maxTokens
        self.stopStrings = stopStrings
        report = events
    }

    /// Abandons the job (its client went away): the scheduler drops it from the queue or frees
    /// its slot at its next round, and reports nothing more.
    public func cancel() { cancelled.store(true, ordering: .releasing) }

    public var isCancelled: Bool { cancelled.load(ordering: .acquiring) }
}
