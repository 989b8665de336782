import CLEXTensor
import CLEXTokenizer

/// Text generation: prefill the prompt, then decode one token at a time through the session's
/// KV cache until EOS, a stop string, or the token limit, streaming text as it completes.
public struct Generator {
    /// Why generation ended.
    public enum StopReason: String, Sendable {
        case endOfSequence = "eos", stopString = "stop string", maxTokens = "max tokens", contextFull = "context full"
    }

    /// The outcome of one `generate` call.
    public struct Result: Sendable {
        public var text: String
        public var tokens: [Int32]
        public var promptTokens: Int
        public var stopReason: StopReason
        /// Seconds spent in the prompt's prefill and in decoding.
        public var prefillSeconds: Double
        public var decodeSeconds: Double
    }

    public let session: InferenceSession
    public let tokenizer: any Tokenizer
    public var sampler: Sampler
    /// Token ids that end generation (EOS and the chat end-of-turn token).
    public var stopTokens: Set<Int32>
    /// Texts that end generation when they appear in the output (not included in it).
    public var stopStrings: [String] = []

    public init(session: InferenceSession, tokenizer: any Tokenizer, sampler: Sampler) {
        self.session = session
        self.tokenizer = tokenizer
        self.sampler = sampler
        var stops = Set<Int32>()
        if let eos = tokenizer.eosID { stops.insert(eos) }
        for id in session.model.configuration.eosTokenIDs { stops.insert(Int32(id)) }
        if let end = tokenizer.id(forToken: "<|im_end|>") { stops.insert(end) }
        stopTokens = stops
    }

    /// Prompt tokens fed per call during the prefill, so that a long prompt reports progress
    /// (a split prefill gives the same logits as one call). A session with `single` prefill reads
    /// the prompt in one call instead: each call would take its own rotation.
    public static let prefillPiece = 512

    /// Continues the session's sequence with `prompt` (already tokenized) and generates up to
    /// `maxTokens` tokens, calling `onPrefill` with the prompt tokens fed so far after each piece
    /// of the prefill and `onText` with each newly completed piece of text.
    public mutating func generate(prompt: [Int32], maxTokens: Int, onPrefill: (Int) -> Void = { _ in },
                                  onText: (String) -> Void = { _ in }) throws -> Result {
        let clock = ContinuousClock()
        let t0 = clock.now
        var fed = 0
        var logits = Tensor(zeros: [0, session.model.configuration.vocabularySize])
        let piece = session.prefill == .single ? max(prompt.count, 1) : Self.prefillPiece
        repeat {
            let end = min(prompt.count, fed + piece)
            logits = try session.feed(Array(prompt[fed..<end]), logits: .last)
            fed = end
            onPrefill(fed)
        } while fed < prompt.count
        let prefill = (clock.now - t0).seconds
        var decoder = tokenizer.decodeIncrementally(skipSpecial: true)
        var text = ""
        var generated: [Int32] = []
        var reason = StopReason.maxTokens
        let t1 = clock.now
        let v = logits.shape[1]
        while generated.count < maxTokens {
            let last = UnsafeBufferPointer(start: logits.pointer + (logits.shape[0] - 1) * v, count: v)
            let next = sampler.next(last, recent: sampler.repeatPenalty == 1 ? [] : prompt.suffix(sampler.repeatWindow) + generated)
            if stopTokens.contains(next) { reason = .endOfSequence; break }
            generated.append(next)
            let piece = decoder.append(next)
            text += piece
            if let stop = stopStrings.first(where: { text.contains($0) }) {
                text = String(text[..<text.range(of: stop)!.lowerBound])
                reason = .stopString
                break
            }
            onText(piece)
            if generated.count == maxTokens { break }
            if session.cache.remaining == 0 { reason = .contextFull; break }
            logits = try session.feed([next], logits: .last)
        }
        if reason != .stopString {
            let tail = decoder.finish()
            text += tail
            onText(tail)
        }
        return Result(text: text, tokens: generated, promptTokens: prompt.count, stopReason: reason,
                      prefillSeconds: prefill, decodeSeconds: (clock.now - t1).seconds)
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
