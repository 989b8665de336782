import CLEXTensor
import Foundation

/// Keys and values of the tokens seen so far, every layer, for incremental decoding.
///
/// Rows are stored in the element types of `types` (ggml block layouts, one row per token and
/// layer: all kv heads, Hkv·D elements). Keys are stored **un-rotated**: attention applies the
/// rotation of the current context as it reads them (`RotationTable`), so a change of rotation
/// with the context length — dynamic NTK past L, LongRoPE's short→long switch, CLEX's steps in t —
/// costs nothing here and a lossy type never re-quantises a key. Within each head the rotated
/// elements are kept in rotate-half order (pair j is elements j and j + r/2) whatever the
/// checkpoint's layout, so one rotation kernel serves both; the queries are put in the same
/// order before attention, which leaves every score unchanged.
///
/// The memory is one anonymous mapping of the whole capacity that the kernel commits page by page
/// as tokens are written: a session sized for 32k tokens holding 100 takes the memory of 100.
/// `reset` hands the written pages back.
public final class KVCache {
    /// Capacity in tokens.
    public let capacity: Int
    /// Element types of the keys and values.
    public let types: KVCacheTypes
    let layerCount: Int
    let keyValueHeads: Int
    let headDimension: Int
    /// Rotated elements at the start of each head (the head dimension for LLaMA).
    let rotaryDimension: Int
    /// The element order of the model's key projection (keys are reordered from it on append).
    let layout: RotaryLayout
    /// Bytes of one token's key row (values: `valueRowBytes`) in one layer.
    let keyRowBytes: Int
    let valueRowBytes: Int
    private let base: UnsafeMutableRawPointer
    private let mappedBytes: Int
    /// Number of tokens cached.
    public private(set) var count = 0
    /// Position of each cached token.
    public private(set) var positions: [Float] = []

    /// Bytes the cache of `capacity` tokens reserves (and takes once full).
    public static func byteCount(_ c: LlamaConfiguration, capacity: Int, types: KVCacheTypes) -> Int {
        let (bytes, overflow) = capacity.multipliedReportingOverflow(by: types.bytesPerToken(c))
        return overflow ? Int.max : bytes
    }

    /// An empty cache for `c` holding up to `capacity` tokens as `types`. Throws when the types
    /// do not suit the model (`KVCacheTypes.validate`) or the address space cannot be reserved.
    public init(configuration c: LlamaConfiguration, capacity: Int, types: KVCacheTypes = .f16) throws {
        try types.validate(for: c)
        guard capacity >= 0 else { throw ModelLoadError("a KV cache needs a capacity of at least 0 tokens, got \(capacity)") }
        self.capacity = capacity
        self.types = types
        layerCount = c.layerCount
        keyValueHeads = c.keyValueHeadCount
        headDimension = c.headDimension
        rotaryDimension = c.rotaryDimension
        layout = c.rotaryLayout
        let row = c.keyValueHeadCount * c.headDimension
        keyRowBytes = types.key.byteCount(elements: row)!
        valueRowBytes = types.value.byteCount(elements: row)!
        mappedBytes = max(Self.byteCount(c, capacity: capacity, types: types), 1)
        guard mappedBytes != Int.max,
              let p = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              p != MAP_FAILED else {
            throw ModelLoadError("could not reserve \(mappedBytes) bytes of address space for a KV cache of \(capacity) tokens")
        }
        base = p
    }

    deinit { munmap(base, mappedBytes) }

    /// Room left, in tokens.
    public var remaining: Int { capacity - count }

    /// Bytes the cached tokens take.
    public var usedBytes: Int { count * layerCount * (keyRowBytes + valueRowBytes) }

    /// Forgets every cached token and returns their memory to the system.
    public func reset() {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let used = (usedBytes + page - 1) / page * page
        if used > 0 { madvise(base, min(used, mappedBytes), MADV_DONTNEED) }
        count = 0
        positions = []
    }

    /// Keeps the first `tokens` cached tokens and forgets the rest (their pages stay committed and
    /// are overwritten by the next tokens). Exact for every positional method: keys are stored
    /// un-rotated, so the kept ones take the rotation of whatever context follows.
    public func truncate(to tokens: Int) {
        precondition((0...count).contains(tokens), "KVCache: cannot keep \(tokens) of \(count) tokens")
        count = tokens
        positions.removeLast(positions.count - tokens)
    }

    /// Token rows of `layer`'s keys (row j at + j·keyRowBytes). Layers are laid out one after the
    /// other, keys then values, each `capacity` rows long; only written rows take memory.
    func keyRows(_ layer: Int) -> UnsafeMutableRawPointer {
        base + layer * capacity * (keyRowBytes + valueRowBytes)
    }

    /// Token rows of `layer`'s values (row j at + j·valueRowBytes).
    func valueRows(_ layer: Int) -> UnsafeMutableRawPointer {
        keyRows(layer) + capacity * keyRowBytes
    }

    /// Stores the un-rotated keys and the values of `tokens` new tokens ([tokens, Hkv·D] each) in
    /// `layer` after the cached ones. The positions are recorded once per step, by `commit`.
    func append(layer: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, tokens: Int) {
        precondition(count + tokens <= capacity, "KVCache: \(count + tokens) tokens exceed the capacity of \(capacity)")
        let row = keyValueHeads * headDimension
        var source = keys
        var ordered: Tensor?
        if layout != .rotateHalf {
            let buffer = Tensor(zeros: [tokens * row])
            RotaryOrder.toRotateHalf(keys, into: buffer.pointer, vectors: tokens * keyValueHeads, dimension: headDimension,
                                     rotaryDimension: rotaryDimension, from: layout)
            (ordered, source) = (buffer, UnsafePointer(buffer.pointer))
        }
        withExtendedLifetime(ordered) {
            types.key.quantize(source, count: tokens * row, into: keyRows(layer) + count * keyRowBytes)
        }
        types.value.quantize(values, count: tokens * row, into: valueRows(layer) + count * valueRowBytes)
    }

    /// The keys of `tokens` in `layer` as Float32 rows [tokens.count, Hkv·D] at `destination`
    /// (rotate-half order), rotated by `rotation` when given: the keys as attention reads them.
    /// Only reads the cache, so threads may read disjoint ranges at once.
    func readKeys(layer: Int, tokens: Range<Int>, into destination: UnsafeMutablePointer<Float>, rotation: RotationTable?) {
        let row = keyValueHeads * headDimension
        types.key.dequantizer(UnsafeRawPointer(keyRows(layer)) + tokens.lowerBound * keyRowBytes, destination,
                              tokens.count * row / types.key.blockSize)
        rotation?.rotate(destination, tokens: tokens, heads: keyValueHeads, dimension: headDimension)
    }

    /// Whether one kv head's part of a token row is a whole number of blocks of both stored types,
    /// so that `readKeys(layer:tokens:head:…)` and `readValues(layer:tokens:head:…)` can read it.
    var readsHeadsSeparately: Bool {
        headDimension % types.key.blockSize == 0 && headDimension % types.value.blockSize == 0
    }

    /// The keys of kv head `head` for `tokens` in `layer` as Float32 rows [tokens.count, D] at
    /// `destination`, rotated like `readKeys(layer:tokens:into:rotation:)`'s (needs
    /// `readsHeadsSeparately`): a small block that stays in L1 while a reader uses it.
    func readKeys(layer: Int, tokens: Range<Int>, head: Int, into destination: UnsafeMutablePointer<Float>,
                  rotation: RotationTable?) {
        readHead(head, of: keyRows(layer), rowBytes: keyRowBytes, type: types.key, tokens: tokens, into: destination)
        rotation?.rotate(destination, tokens: tokens, heads: 1, dimension: headDimension)
    }

    /// The values of kv head `head` for `tokens` in `layer` as Float32 rows [tokens.count, D] at
    /// `destination` (needs `readsHeadsSeparately`).
    func readValues(layer: Int, tokens: Range<Int>, head: Int, into destination: UnsafeMutablePointer<Float>) {
        readHead(head, of: valueRows(layer), rowBytes: valueRowBytes, type: types.value, tokens: tokens, into: destination)
    }

    /// Converts kv head `head`'s part of the token rows `tokens` (stored as `type`, `rowBytes`
    /// apart from `rows`) into [tokens.count, D] floats.
    private func readHead(_ head: Int, of rows: UnsafeMutableRawPointer, rowBytes: Int, type: ElementType, tokens: Range<Int>,
                          into destination: UnsafeMutablePointer<Float>) {
        let (d, convert) = (headDimension, type.dequantizer)
        let source = UnsafeRawPointer(rows) + head * (rowBytes / keyValueHeads)
        for (i, token) in tokens.enumerated() { convert(source + token * rowBytes, destination + i * d, d / type.blockSize) }
    }

    /// The values of `tokens` in `layer` as Float32 rows [tokens.count, Hkv·D] at `destination`.
    func readValues(layer: Int, tokens: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        let row = keyValueHeads * headDimension
        types.value.dequantizer(UnsafeRawPointer(valueRows(layer)) + tokens.lowerBound * valueRowBytes, destination,
                                tokens.count * row / types.value.blockSize)
    }

    /// Marks the tokens appended to every layer this step as cached.
    func commit(positions newPositions: [Float]) {
        count += newPositions.count
        positions += newPositions
    }
}
