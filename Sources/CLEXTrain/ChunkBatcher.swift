/// Cuts a token stream into training examples of `length` inputs and `length` next-token targets
/// (windows of length + 1 tokens, advancing by `length`), visits them in a seeded random order
/// that changes every epoch, and hands out batches. Its position (`cursor`) is all that a
/// checkpoint needs to continue exactly.
public struct ChunkBatcher: Sendable {
    /// Where the batcher stands: epoch and next example within the epoch's order.
    public struct Cursor: Codable, Sendable, Equatable {
        public var epoch: Int
        public var index: Int
        public init(epoch: Int = 0, index: Int = 0) {
            self.epoch = epoch
            self.index = index
        }
    }

    public let length: Int
    public let seed: UInt64
    let stream: [Int32]
    public var cursor = Cursor()

    /// Number of examples per epoch.
    public var exampleCount: Int { stream.count > length ? (stream.count - 1) / length : 0 }

    public init(stream: [Int32], length: Int, seed: UInt64) throws {
        self.stream = stream
        self.length = length
        self.seed = seed
        guard exampleCount > 0 else {
            throw DataError("the training text has \(stream.count) tokens, too few for one example of \(length) + 1 tokens")
        }
    }

    func order(epoch: Int) -> [Int] {
        var o = Array(0..<exampleCount)
        var s = SeededShuffle(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)
        s.shuffle(&o)
        return o
    }

    /// The next `batch` examples: inputs and targets, each [batch·length] row-major.
    public mutating func next(batch: Int) -> (inputs: [Int32], targets: [Int32]) {
        var inputs: [Int32] = []
        var targets: [Int32] = []
        inputs.reserveCapacity(batch * length)
        targets.reserveCapacity(batch * length)
        var order = self.order(epoch: cursor.epoch)
        for _ in 0..<batch {
            if cursor.index >= order.count {
                cursor.epoch += 1
                cursor.index = 0
                order = self.order(epoch: cursor.epoch)
            }
            let start = order[cursor.index] * length
            inputs += stream[start..<(start + length)]
            targets += stream[(start + 1)..<(start + length + 1)]
            cursor.index += 1
        }
        return (inputs, targets)
    }
}
