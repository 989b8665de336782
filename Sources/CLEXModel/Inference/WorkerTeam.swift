import CLEXTensor
import Foundation
import Synchronization

/// A few threads that stay awake between the many short parallel steps of decoding.
///
/// Decoding one token is ~120 dependent steps of 10–500 µs each (a GEMV, the attention over the
/// cache). `DispatchQueue.concurrentPerform` parks its workers after every call, and waking one
/// costs ~30 µs on this VM — as much as the step. Here the workers spin on an atomic for a short
/// while after each step (then sleep on a condition), so the next step starts within ~1 µs.
///
/// Robust to oversubscription: a step is split into chunks that the caller and the workers
/// claim one at a time from a shared counter (generation << 32 | next chunk, so a late worker
/// can never claim a chunk of a newer step). The caller always works too; a worker that is
/// descheduled or asleep simply claims nothing, and the caller finishes alone.
final class WorkerTeam: @unchecked Sendable {
    /// The process-wide team, created at first use with `Parallel.threadCount` threads (the
    /// caller counts as one): `Parallel.setThreadCount` before any computing sets its size.
    static let shared = WorkerTeam(threads: Parallel.threadCount)

    /// Threads working on a step, the caller included.
    let threadCount: Int
    /// Generation (high 32 bits) and index of the next unclaimed chunk (low 32 bits).
    private let state = Atomic<Int>(0)
    /// Chunks of the current step finished so far.
    private let completed = Atomic<Int>(0)
    /// Workers asleep on `wakeUp`.
    private let sleepers = Atomic<Int>(0)
    private let wakeUp = NSCondition()
    /// Serialises callers from different threads.
    private let callerLock = NSLock()
    /// Chunks of the current step; written before `state` publishes a new generation.
    private let chunks = Atomic<Int>(0)
    /// The current step's body: written before `state` publishes a new generation, read only by
    /// a thread that claimed one of its chunks (so never while it changes).
    private var body: ((Int) -> Void)?
    private var generation = 0

    /// How long an idle worker spins before it sleeps.
    static let spinSeconds = 0.002

    init(threads: Int) {
        threadCount = max(1, threads)
        for _ in 1..<threadCount {
            let thread = Thread { [unowned self] in self.workerLoop() }
            thread.name = "clex-decode-worker"
            thread.start()
        }
    }

    /// Runs `body(chunk)` for every chunk in `0..<count`, on the caller and the workers; returns
    /// when all are done. Chunks should be contiguous slices of similar cost.
    func forEachChunk(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if threadCount == 1 || count == 1 {
            for c in 0..<count { body(c) }
            return
        }
        callerLock.lock()
        defer { callerLock.unlock() }
        withoutActuallyEscaping(body) { body in
            self.body = body
            chunks.store(count, ordering: .relaxed)
            generation = (generation + 1) & 0x7fff_ffff
            completed.store(0, ordering: .relaxed)
            // Sequentially consistent with the workers' sleepers/state pair: either a worker sees
            // the new generation before it sleeps, or this thread sees it asleep and wakes it.
            state.store(generation &<< 32, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                wakeUp.lock()
                wakeUp.broadcast()
                wakeUp.unlock()
            }
            work(generation)
            var spins = 0
            while completed.load(ordering: .acquiring) < count {
                spins += 1
                if spins > 1000 { sched_yield() }
            }
            self.body = nil
        }
    }

    /// Claims and runs chunks of step `generation` until none is left.
    private func work(_ generation: Int) {
        var done = 0
        var s = state.load(ordering: .acquiring)
        while s >> 32 == generation, s & 0xffff_ffff < chunks.load(ordering: .relaxed) {
            let (claimed, current) = state.compareExchange(expected: s, desired: s + 1, ordering: .acquiringAndReleasing)
            if claimed {
                body!(s & 0xffff_ffff)
                done += 1
                s += 1
            } else {
                s = current
            }
        }
        if done > 0 { completed.add(done, ordering: .releasing) }
    }

    private func workerLoop() {
        var seen = 0
        while true {
            var s = state.load(ordering: .acquiring)
            var spins = 0
            var idleSince = 0.0
            while s >> 32 == seen {
                spins += 1
                if spins & 1023 == 0 {
                    let now = Self.now()
                    if idleSince == 0 { idleSince = now }
                    if now - idleSince > Self.spinSeconds {
                        sleep(whileGeneration: seen)
                        idleSince = 0
                    }
                }
                s = state.load(ordering: .acquiring)
            }
            seen = s >> 32
            work(seen)
        }
    }

    private func sleep(whileGeneration seen: Int) {
        wakeUp.lock()
        sleepers.add(1, ordering: .sequentiallyConsistent)
        while state.load(ordering: .sequentiallyConsistent) >> 32 == seen { wakeUp.wait() }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        wakeUp.unlock()
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
