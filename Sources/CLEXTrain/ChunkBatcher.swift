import CLEXTensor

/// Cuts a token stream into training examples of `length` inputs (`Chunking` says how), visits
/// them in a seeded random order that changes every epoch, and hands out batches. Its position
/// (`cursor`) is all that a checkpoint needs to continue exactly.
public struct ChunkBatcher: Sendable {
    /// How the stream becomes examples of N = `length` inputs.
    public enum Chunking: String, Codable, Sendable {
        /// Windows of N + 1 tokens advancing by N: N inputs, N next-token targets.
        case windows
        /// Exact N-token chunks: N inputs and N − 1 targets, the last input's target ignored
        /// (`Ops.ignoredTarget`) — the PyTorch reference's chunks, whose labels transformers
        /// shifts inside the model.
        case exact
    }

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
    public let chunking: Chunking
    let stream: [Int32]
    public var cursor = Cursor()

    /// Number of examples per epoch.
    public var exampleCount: Int {
        switch chunking {
        case .windows: return stream.count > length ? (stream.count - 1) / length : 0
        case .exact: return stream.count / length
        }
    }

    public init(stream: [Int32], length: Int, seed: UInt64, chunking: Chunking = .windows) throws {
        self.stream = stream
        self.length = length
        self.seed = seed
        self.chunking = chunking
        guard exampleCount > 0 else {
            let needed = chunking == .windows ? "\(length) + 1" : "\(length)"
            throw DataError("the training text has \(stream.count) tokens, too few for one example of \(needed) tokens")
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
            switch chunking {
            case .windows: targets += stream[(start + 1)..<(start + length + 1)]
            case .exact:
                targets += stream[(start + 1)..<(start + length)]
                targets.append(Ops.ignoredTarget)
            }
            cursor.index += 1
        }
        return (inputs, targets)
    }
}
