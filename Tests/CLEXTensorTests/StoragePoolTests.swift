import CLEXTensor
import Testing

/// The caching allocator: size classes, reuse of freed blocks, zeroing of reused storage, and the
/// byte limit. Tests run one at a time (`--no-parallel`), and each restores the limit it changed.
@Suite("storage pool") struct StoragePoolTests {
    @Test func sizeClassesAreAtMostOneEighthAbove() {
        for bytes in [StoragePool.minimumBytes, 65_537, 100_000, 1 << 20, (1 << 20) + 1, 123_456_789] {
            let c = StoragePool.sizeClass(bytes)
            #expect(c >= bytes && Double(c) <= Double(bytes) * 1.125, "\(bytes) → \(c)")
            #expect(StoragePool.sizeClass(c) == c, "a class maps to itself: \(c)")
        }
        #expect(StoragePool.sizeClass(1000) == 1000, "small blocks are not rounded")
    }

    @Test func freedBlockIsReusedAndZeroed() {
        let count = 300_000
        var first: TensorStorage? = TensorStorage(count: count)
        let address = first!.base
        first!.base.update(repeating: 7, count: count)
        first = nil
        let second = TensorStorage(count: count - 5)            // same size class
        #expect(second.base == address, "the freed block is handed out again")
        #expect((0..<second.count).allSatisfy { second.base[$0] == 0 }, "reused storage is zeroed")
    }

    @Test func limitIsRespected() {
        let saved = StoragePool.limitBytes
        defer { StoragePool.limitBytes = saved }
        StoragePool.releaseAll()
        StoragePool.limitBytes = 3 << 20
        var blocks: [TensorStorage]? = (0..<4).map { _ in TensorStorage(count: 1 << 18) }   // 1 MiB each
        blocks = nil
        #expect(blocks == nil)
        #expect(StoragePool.cachedBytes <= 3 << 20)
        #expect(StoragePool.cachedBytes >= 2 << 20, "blocks under the limit are kept")
        StoragePool.limitBytes = 0
        #expect(StoragePool.cachedBytes == 0, "lowering the limit releases blocks")
    }
}
