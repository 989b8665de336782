import Glibc
import Synchronization

/// A process-wide cache of freed tensor blocks, reused by later allocations of the same size
/// class — the idea of PyTorch's caching allocator, for a CPU.
///
/// Why: a training step allocates and frees the same few hundred large blocks every step. Left to
/// `malloc`, blocks above its mmap threshold go back to the kernel when freed and every new one
/// page-faults on first touch, and the kernel zeroes each page: on the small preset that was 21 %
/// of a step's time (`clear_page_erms` in `perf`). A reused block costs one `memset`.
///
/// Only blocks of at least `minimumBytes` are cached (smaller ones stay in `malloc`'s own free
/// lists). Sizes are rounded up to classes 1/8 of a power of two apart (≤ 12.5 % slack), so
/// sequences of slightly different lengths share blocks. The cache holds at most `limitBytes`;
/// when a freed block would exceed it, the largest cached blocks are released first.
public enum StoragePool {
    /// Blocks below this size are not cached.
    public static let minimumBytes = 64 << 10
    /// Blocks from this size on are 2 MB-aligned and marked for transparent huge pages.
    static let hugeBytes = 4 << 20

    struct State {
        /// Cached block addresses by size class (addresses as integers: pointers are not `Sendable`).
        var free: [Int: [UInt]] = [:]
        var cachedBytes = 0
        var limitBytes = StoragePool.defaultLimit()
    }

    static let state = Mutex(State())

    /// Bytes currently held in the cache (freed blocks not yet reused).
    public static var cachedBytes: Int { state.withLock { $0.cachedBytes } }

    /// The most the cache holds. Default: a quarter of physical memory, or `CLEX_POOL_MB`
    /// mebibytes from the environment (0 turns the cache off).
    public static var limitBytes: Int {
        get { state.withLock { $0.limitBytes } }
        set {
            let released = state.withLock { s -> [UInt] in
                s.limitBytes = max(newValue, 0)
                return evict(&s, toFit: 0)
            }
            released.forEach(deallocate)
        }
    }

    /// Returns every cached block to the system (e.g. between evaluation lengths, or before
    /// measuring peak memory).
    public static func releaseAll() {
        let released = state.withLock { s -> [UInt] in
            let all = s.free.values.flatMap { $0 }
            s.free = [:]
            s.cachedBytes = 0
            return all
        }
        released.forEach(deallocate)
    }

    /// The size class of a request: the bytes actually allocated for it.
    public static func sizeClass(_ bytes: Int) -> Int {
        guard bytes >= minimumBytes else { return bytes }
        let top = Int.bitWidth - 1 - bytes.leadingZeroBitCount       // floor(log2)
        let step = 1 << (top - 3)
        return (bytes + step - 1) / step * step
    }

    /// A block of at least `bytes` bytes (contents undefined) and the size it must be released with.
    static func allocate(bytes: Int) -> (pointer: UnsafeMutableRawPointer, size: Int) {
        let size = sizeClass(bytes)
        if size >= minimumBytes, let reused = state.withLock({ s -> UInt? in
            guard let p = s.free[size]?.popLast() else { return nil }
            s.cachedBytes -= size
            return p
        }) {
            return (UnsafeMutableRawPointer(bitPattern: reused)!, size)
        }
        let huge = size >= hugeBytes
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: huge ? 2 << 20 : 64)
        // Huge pages: the first touch faults once per 2 MB instead of once per 4 KB.
        if huge { _ = madvise(raw, size, MADV_HUGEPAGE) }
        return (raw, size)
    }

    /// Takes back a block from `allocate`: cached when it fits under the limit, else freed.
    static func release(_ pointer: UnsafeMutableRawPointer, size: Int) {
        guard size >= minimumBytes else { pointer.deallocate(); return }
        let address = UInt(bitPattern: pointer)
        let released = state.withLock { s -> [UInt] in
            guard size <= s.limitBytes else { return [address] }
            var out = evict(&s, toFit: size)
            if s.cachedBytes + size <= s.limitBytes {
                s.free[size, default: []].append(address)
                s.cachedBytes += size
            } else {
                out.append(address)
            }
            return out
        }
        released.forEach(deallocate)
    }

    /// Removes the largest cached blocks until `incoming` more bytes fit under the limit.
    private static func evict(_ s: inout State, toFit incoming: Int) -> [UInt] {
        var out: [UInt] = []
        while s.cachedBytes + incoming > s.limitBytes, let size = s.free.keys.max() {
            let p = s.free[size]!.removeLast()
            if s.free[size]!.isEmpty { s.free[size] = nil }
            s.cachedBytes -= size
            out.append(p)
        }
        return out
    }

    private static func deallocate(_ address: UInt) {
        UnsafeMutableRawPointer(bitPattern: address)!.deallocate()
    }

    static func defaultLimit() -> Int {
        if let text = getenv("CLEX_POOL_MB"), let mb = Int(String(cString: text)), mb >= 0 { return mb << 20 }
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return 1 << 30 }
        return pages * pageSize / 4
    }
}
