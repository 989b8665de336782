import CLEXModel
import CLEXTokenizer
import Foundation

/// The slots of the server and the one thread that runs the model for all of them.
///
/// Each slot is an `InferenceSession` over the one loaded model (weights shared) whose KV cache
/// outlives its requests. A job goes to the idle slot whose cache holds the longest prefix of its
/// prompt (exact token match; the least recently used among equals), which is truncated to that
/// prefix so only the rest is computed — exact under every positional method, since the cache
/// keeps keys un-rotated (`InferenceSession.truncate`). Jobs beyond the idle slots wait in a FIFO
/// queue of at most `queueLimit`; past it `submit` refuses (503).
///
/// Rounds: each round gives every busy slot one unit of work in turn — one generated token, or
/// one piece of its prompt (smaller while other slots are generating, so a long prompt delays
/// their streams by one piece at most) — so replies advance together, token by token. Each slot
/// runs its own forward (no batching across slots). A cancelled job frees its slot at the next
/// round.
public final class SlotScheduler: @unchecked Sendable {
    /// One slot: a session and the job it is serving, if any.
    final class Slot {
        let session: InferenceSession
        var job: GenerationJob?
        var reader: Generator.PromptReader?
        var decoding: Generator.Decoding?
        /// Prompt tokens of the current job found in the cache.
        var cached = 0
        var started = ContinuousClock.now
        var firstToken = ContinuousClock.now
        /// Round of the last job given to the slot (least recently used first among equals).
        var lastUsed = 0

        init(session: InferenceSession) { self.session = session }
    }

    /// Prompt tokens read per round while no other slot is busy, and while others are.
    static let pieceAlone = Generator.prefillPiece
    static let pieceShared = 64

    /// Tokens each slot's context holds.
    public let capacity: Int
    /// Jobs that may wait for a slot.
    public let queueLimit: Int
    let tokenizer: any Tokenizer
    let ignoreEOS: Bool
    private let slots: [Slot]
    private var queue: [GenerationJob] = []
    private var admitted = 0
    private var stopping = false
    private let condition = NSCondition()

    /// A scheduler over `sessions` (one per slot, all of the same capacity, over one model).
    public init(sessions: [InferenceSession], tokenizer: any Tokenizer, queueLimit: Int, ignoreEOS: Bool = false) {
        precondition(!sessions.isEmpty, "SlotScheduler needs at least one session")
        slots = sessions.map(Slot.init)
        capacity = sessions[0].cache.capacity
        self.tokenizer = tokenizer
        self.queueLimit = queueLimit
        self.ignoreEOS = ignoreEOS
    }

    /// Starts the scheduling thread.
    public func start() {
        let thread = Thread { [self] in run() }
        thread.stackSize = 16 << 20
        thread.name = "clex-scheduler"
        thread.start()
    }

    /// Ends the scheduling thread after its current round (queued and running jobs are dropped).
    public func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    /// Queues `job`; throws a 503 when the queue is full.
    public func submit(_ job: GenerationJob) throws(APIError) {
        condition.lock()
        defer { condition.unlock() }
        queue.removeAll { $0.isCancelled }
        guard queue.count < queueLimit else {
            throw APIError.overloaded(queue: queue.count)
        }
        queue.append(job)
        condition.signal()
    }

    /// Slots serving a job, idle slots and queued jobs, now.
    public var load: (busy: Int, idle: Int, queued: Int) {
        condition.lock()
        defer { condition.unlock() }
        let busy = slots.filter { $0.job != nil }.count
        return (busy, slots.count - busy, queue.count)
    }

    private func run() {
        while true {
            condition.lock()
            while !stopping && queue.isEmpty && !slots.contains(where: { $0.job != nil }) { condition.wait() }
            if stopping {
                condition.unlock()
                return
            }
            admit()
            let busy = slots.filter { $0.job != nil }
            condition.unlock()
            for slot in busy { advance(slot, piece: busy.count > 1 ? Self.pieceShared : Self.pieceAlone) }
        }
    }

    /// Gives queued jobs, in order, to idle slots: each to the one caching the longest prefix of
    /// its prompt. Called with the lock held.
    private func admit() {
        queue.removeAll { $0.isCancelled }
        while let job = queue.first {
            let idle = slots.filter { $0.job == nil }
            guard let slot = idle.max(by: { a, b in
                let (pa, pb) = (a.session.commonPrefix(with: job.prompt), b.session.commonPrefix(with: job.prompt))
                return pa != pb ? pa < pb : a.lastUsed > b.lastUsed
            }) else { return }
            queue.removeFirst()
            admitted += 1
            (slot.job, slot.reader, slot.decoding, slot.lastUsed) = (job, nil, nil, admitted)
        }
    }

    /// One unit of the slot's work: the start of its job (keeping the cached prefix), a piece of
    /// its prompt, or one token.
    private func advance(_ slot: Slot, piece: Int) {
        guard let job = slot.job else { return }
        if job.isCancelled { return release(slot) }
        do {
            if var decoding = slot.decoding {
                slot.decoding = nil
                let text = try decoding.step(slot.session)
                if !text.isEmpty { job.report(.text(text)) }
                slot.decoding = decoding
                if decoding.stopReason != nil { finish(slot, job) }
                return
            }
            if slot.reader == nil {
                let session = slot.session
                // Under `single` prefill the cached keys depend on how earlier feeds were cut.
                slot.cached = session.prefill == .single ? 0 : min(session.commonPrefix(with: job.prompt), job.prompt.count - 1)
                session.truncate(to: slot.cached)
                slot.reader = Generator.PromptReader(prompt: Array(job.prompt[slot.cached...]), session: session)
                slot.started = .now
            }
            guard let logits = try slot.reader!.read(session: slot.session, upTo: piece) else { return }
            var generator = Generator(session: slot.session, tokenizer: tokenizer, sampler: job.sampler)
            generator.stopStrings = job.stopStrings
            if ignoreEOS { generator.stopTokens = [] }
            slot.decoding = Generator.Decoding(generator: generator, prompt: job.prompt, logits: logits, maxTokens: job.maxTokens)
            slot.firstToken = .now
            if slot.decoding!.stopReason != nil { finish(slot, job) }
        } catch {
            job.report(.failed(.generationFailed(error)))
            slot.session.truncate(to: 0)
            release(slot)
        }
    }

    private func finish(_ slot: Slot, _ job: GenerationJob) {
        let decoding = slot.decoding!
        let now = ContinuousClock.now
        job.report(.finished(GenerationJob.Summary(
            promptTokens: job.prompt.count, cachedTokens: slot.cached, completionTokens: decoding.tokens.count,
            stopReason: decoding.stopReason!, prefillSeconds: (slot.firstToken - slot.started).seconds,
            decodeSeconds: (now - slot.firstToken).seconds)))
        release(slot)
    }

    private func release(_ slot: Slot) {
        condition.lock()
        (slot.job, slot.reader, slot.decoding) = (nil, nil, nil)
        condition.unlock()
    }
}
