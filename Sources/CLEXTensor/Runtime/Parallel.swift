import COpenBLAS
import Dispatch
import Foundation
import Synchronization

/// Splits loops across the machine's cores for the non-GEMM kernels.
///
/// Uses `DispatchQueue.concurrentPerform` (about 1 µs a call; see
/// ../../shared/notes/cpu-performance.md): worth it from roughly 100 µs of work, so callers pass
/// an estimate of the work and small loops run inline. Never call BLAS inside the body unless
/// inside `BLAS.withSingleThread` — two thread pools would fight over the cores.
public enum Parallel {
    /// Number of worker threads used by the kernels: the active processor count unless
    /// `setThreadCount` chose another.
    public static var threadCount: Int { configuredThreads.load(ordering: .relaxed) }

    /// The machine's active processor count.
    public static let processorCount = max(1, ProcessInfo.processInfo.activeProcessorCount)

    @usableFromInline
    static let configuredThreads = Atomic<Int>(processorCount)

    /// Sets the threads every parallel part of the program uses: these loops, OpenBLAS
    /// (`openblas_set_num_threads`) and teams created afterwards (the decode `WorkerTeam` is
    /// created at its first use, so call this before computing anything; `clex --threads` does).
    public static func setThreadCount(_ count: Int) {
        precondition(count >= 1, "Parallel.setThreadCount: at least one thread, got \(count)")
        configuredThreads.store(count, ordering: .relaxed)
        openblas_set_num_threads(Int32(clamping: count))
    }

    /// Runs `body(range)` over disjoint chunks covering `0..<count`, in parallel when
    /// `count * costPerItem` (roughly, in floating-point operations) is large enough to pay.
    @inlinable
    public static func forEachChunk(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
        if count <= 0 { return }
        let work = count &* max(costPerItem, 1)
        let chunks = min(count, threadCount)
        if chunks <= 1 || work < 32_768 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            let work = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = count * c / chunks
                let hi = count * (c + 1) / chunks
                if lo < hi { work.value(lo..<hi) }
            }
        }
    }

    /// Runs `body(i)` for every `i` in `0..<count` with dynamic load balancing (each item should be
    /// at least tens of microseconds of work, e.g. one attention block row).
    /// At most `threadCount` threads take part, each claiming the next item.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        let workers = min(count, threadCount)
        if workers <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        let next = Atomic<Int>(0)
        withoutActuallyEscaping(body) { body in
            let work = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    let i = next.add(1, ordering: .relaxed).oldValue
                    if i >= count { break }
                    work.value(i)
                }
            }
        }
    }
}

/// Carries a value into `concurrentPerform`'s `@Sendable` body. The kernels guarantee what the
/// compiler cannot check: each iteration writes a disjoint part of the output.
@usableFromInline
struct UncheckedSendable<T>: @unchecked Sendable {
    @usableFromInline let value: T
    @usableFromInline init(_ value: T) { self.value = value }
}
