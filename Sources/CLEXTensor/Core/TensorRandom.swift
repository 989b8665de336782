import Foundation

/// A small, fast, seedable generator (xoshiro256**, Blackman & Vigna 2018) so that every random
/// draw in the project is reproducible from one integer seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    /// Seeds the state with SplitMix64 of `seed`, as the xoshiro authors recommend.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// The full generator state, for checkpoints (restore with `init(state:)`).
    public var state: [UInt64] { [s.0, s.1, s.2, s.3] }

    /// A generator continuing from a saved `state`; nil unless it has four words, not all zero.
    public init?(state: [UInt64]) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
        s = (state[0], state[1], state[2], state[3])
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / Float(1 << 24))
    }

    /// Standard normal draw (Box–Muller).
    public mutating func nextNormal() -> Float {
        let u1 = max(Double(next() >> 11) * (1.0 / Double(1 << 53)), 1e-300)
        let u2 = Double(next() >> 11) * (1.0 / Double(1 << 53))
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

extension Tensor {
    /// Independent N(0, std²) entries.
    public static func randomNormal(_ shape: [Int], std: Float = 1, generator: inout SeededGenerator) -> Tensor {
        let t = Tensor(zeros: shape)
        let p = t.pointer
        for i in 0..<t.count { p[i] = generator.nextNormal() * std }
        return t
    }

    /// Independent Uniform(low, high) entries.
    public static func randomUniform(_ shape: [Int], low: Float = -1, high: Float = 1,
                                     generator: inout SeededGenerator) -> Tensor {
        let t = Tensor(zeros: shape)
        let p = t.pointer
        for i in 0..<t.count { p[i] = low + (high - low) * generator.nextUnitFloat() }
        return t
    }
}
