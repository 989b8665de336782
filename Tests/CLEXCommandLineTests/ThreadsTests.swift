import CLEXTensor
import Foundation
import XCTest

/// `--threads 1` (`Parallel.setThreadCount(1)`): the engine's loops and OpenBLAS use one thread.
final class ThreadsTests: XCTestCase {
    override func tearDown() { Parallel.setThreadCount(Parallel.processorCount) }

    /// CPU time (clock ticks) of every thread of this process, by thread id.
    func threadTicks() -> [String: Int] {
        var ticks: [String: Int] = [:]
        for task in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? [] {
            guard let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // Fields after the name: state is [0]; utime and stime are the 14th and 15th fields overall.
            if fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) { ticks[task] = user + system }
        }
        return ticks
    }

    func testOneThreadMeansOneThread() throws {
        Parallel.setThreadCount(1)
        XCTAssertEqual(Parallel.threadCount, 1)
        XCTAssertEqual(BLAS.threadCount, 1)
        let lock = NSLock()
        var threads: Set<pthread_t> = []
        Parallel.forEach(64) { _ in
            usleep(200)
            lock.withLock { _ = threads.insert(pthread_self()) }
        }
        Parallel.forEachChunk(1 << 20, costPerItem: 64) { _ in
            lock.withLock { _ = threads.insert(pthread_self()) }
        }
        XCTAssertEqual(threads, [pthread_self()])

        // OpenBLAS: a large product accrues CPU time on this thread only.
        let n = 768
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        let me = try (FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self") as NSString).lastPathComponent
        let before = threadTicks()
        var mine = 0
        while mine < 30 {   // at least 0.3 s of CPU on this thread (100 ticks per second)
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                BLAS.sgemm(transA: false, transB: false, m: n, n: n, k: n, a: pa.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n,
                           c: pc.baseAddress!, ldc: n)
            } } }
            mine = (threadTicks()[me] ?? 0) - (before[me] ?? 0)
        }
        let after = threadTicks()
        let others = after.filter { $0.key != me }.map { $0.value - (before[$0.key] ?? 0) }.reduce(0, +)
        XCTAssertLessThanOrEqual(others, 3, "other threads ran \(others) ticks while this one ran \(mine)")
        XCTAssertEqual(c[0], Float(n) * 0.125)
    }
}
