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
        var reader = PromptReader(prompt: prompt, session: session)
        var logits: Tensor?
        repeat {
            logits = try reader.read(session: session, upTo: Self.prefillPiece)
            onPrefill(reader.fed)
        } while logits == nil
        let prefill = (clock.now - t0).seconds
        let t1 = clock.now
        var decoding = Decoding(generator: self, prompt: prompt, logits: logits!, maxTokens: maxTokens)
        while decoding.stopReason == nil { onText(try decoding.step(session)) }
        sampler = decoding.sampler
        return Result(text: decoding.text, tokens: decoding.tokens, promptTokens: prompt.count, stopReason: decoding.stopReason!,
                      prefillSeconds: prefill, decodeSeconds: (clock.now - t1).seconds)
    }

    /// A prompt fed to a session piece by piece (so that a caller can report progress or let
    /// other work run between pieces).
    public struct PromptReader {
        public let prompt: [Int32]
        /// Prompt tokens fed so far.
        public private(set) var fed = 0
        /// A `single` prefill reads the whole prompt in one piece (each call would take its own
        /// rotation).
        let whole: Bool

        /// A reader of `prompt` into `session` (which it continues).
        public init(prompt: [Int32], session: InferenceSession) {
            self.prompt = prompt
            whole = session.prefill == .single
        }

        /// Feeds the next piece of at most `piece` tokens (the whole prompt under `single`);
        /// returns the last token's logits [1, V] once the prompt is read (an empty prompt gives
        /// [0, V]), nil before.
        public mutating func read(session: InferenceSession, upTo piece: Int) throws -> Tensor? {
            let end = whole ? prompt.count : min(prompt.count, fed + max(piece, 1))
            let logits = try session.feed(Array(prompt[fed..<end]), logits: .last)
            fed = end
            return fed == prompt.count ? logits : nil
        }
    }

    /// One reply being generated after its prompt was read, a token per `step`: samples from the
    /// last logits, ends at a stop token, a stop string, the token limit or a full context, and
    /// feeds each kept token. Text is released as it completes, holding back an ending that may
    /// begin a stop string, so a streamed reply never shows part of a stop string.
    public struct Decoding {
        public private(set) var sampler: Sampler
        let stopTokens: Set<Int32>
        let stopStrings: [String]
        let prompt: [Int32]
        let maxTokens: Int
        var logits: Tensor
        var decoder: IncrementalDecoder
        /// The reply so far (without a stop string).
        public private(set) var text = ""
        /// Unicode scalars of `text` already returned by `step`.
        var released = 0
        /// The generated tokens (a stop token is not among them).
        public private(set) var tokens: [Int32] = []
        /// Why the reply ended; nil while it goes on.
        public private(set) var stopReason: StopReason?

        /// A reply to `prompt` (already read by the generator's session, whose last row of
        /// `logits` predicts the first token) with the generator's sampler and stops.
        public init(generator: Generator, prompt: [Int32], logits: Tensor, maxTokens: Int) {
            sampler = generator.sampler
            stopTokens = generator.stopTokens
            stopStrings = generator.stopStrings.filter { !$0.isEmpty }
            self.prompt = prompt
            self.maxTokens = maxTokens
            self.logits = logits
            decoder = generator.tokenizer.decodeIncrementally(skipSpecial: true)
            if maxTokens <= 0 || logits.shape[0] == 0 { stopReason = .maxTokens }
        }

        /// Samples one token and feeds it to `session` (unless the reply ends with it); returns
        /// the text released by this step (possibly empty). Call only while `stopReason` is nil.
        public mutating func step(_ session: InferenceSession) throws -> String {
            precondition(stopReason == nil, "Decoding.step after the reply ended")
            let v = logits.shape[1]
            let last = UnsafeBufferPointer(start: logits.pointer + (logits.shape[0] - 1) * v, count: v)
            let next = sampler.next(last, recent: sampler.repeatPenalty == 1 ? [] : prompt.suffix(sampler.repeatWindow) + tokens)
            if stopTokens.contains(next) { return finish(.endOfSequence) }
            tokens.append(next)
            text += decoder.append(next)
            if let stop = stopStrings.first(where: { text.contains($0) }) {
                text = String(text[..<text.range(of: stop)!.lowerBound])
                return finish(.stopString)
            }
            if tokens.count == maxTokens { return finish(.maxTokens) }
            if session.cache.remaining == 0 { return finish(.contextFull) }
            logits = try session.feed([next], logits: .last)
            return release(holdingBack: true)
        }

        private mutating func finish(_ reason: StopReason) -> String {
            stopReason = reason
            if reason != .stopString { text += decoder.finish() }
            return release(holdingBack: false)
        }

        /// The text not yet released, less (when `holdingBack`) the longest ending that begins a
        /// stop string.
        private mutating func release(holdingBack: Bool) -> String {
            let scalars = Array(text.unicodeScalars)
            var end = scalars.count
            if holdingBack {
                let longest = stopStrings.map { $0.unicodeScalars.count - 1 }.max() ?? 0
                for k in stride(from: min(longest, end - released), to: 0, by: -1) {
                    let tail = String(String.UnicodeScalarView(scalars[(end - k)...]))
                    if stopStrings.contains(where: { $0.hasPrefix(tail) }) {
                        end -= k
                        break
                    }
                }
            }
            guard end > released else { return "" }
            defer { released = end }
            return String(String.UnicodeScalarView(scalars[released..<end]))
        }
    }
}

extension Duration {
    /// The duration in seconds.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
