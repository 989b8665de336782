import CLEXTensor

/// Fisher–Yates shuffling driven by `SeededGenerator`, written out so that the order depends
/// only on the seed (not on the standard library's shuffle algorithm, which may change).
struct SeededShuffle {
    var generator: SeededGenerator

    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            let j = Int(generator.next() % UInt64(i + 1))
            items.swapAt(i, j)
        }
    }
}
