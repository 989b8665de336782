import CLEXTensor

/// How a target's inputs are mutated: byte-level edits only, or JSON token-level edits as well.
public enum FuzzInputFormat: Sendable {
    /// A binary file (GGUF, safetensors, llama2.c): bytes, integers and chunks.
    case binary
    /// A JSON document: tokens and balanced fragments, plus byte-level edits now and then.
    case json
}

/// Seeded mutations of an input, the same sequence for the same seed on every machine.
///
/// Byte-level edits (`mutateBytes`): bit flips; bytes set to 0, 1, 0x7F, 0x80, 0xFF; 1/2/4/8-byte
/// little-endian integers set to boundary values (0, 2^31 − 1, 2^32 − 1, 2^63, 2^64 − 1, the
/// input's length, …) at 4/8-byte aligned offsets (often in the first 64 bytes, the headers) and
/// at unaligned ones (GGUF fields follow strings, so most of them are unaligned); small additions to integers; truncation; extension with junk;
/// chunk deletion, duplication and copying; splicing with another corpus entry. JSON edits
/// (`FuzzMutator+JSON.swift`) work on tokens. Every result is at most `maximumSize` bytes.
public struct FuzzMutator {
    /// The random source; every choice is drawn from it.
    public var generator: SeededGenerator
    /// Largest input produced, in bytes.
    public let maximumSize: Int
    /// Words the target's format knows (JSON keys, type names), put into JSON inputs as strings.
    public let dictionary: [String]

    /// A mutator drawing from `seed`.
    public init(seed: UInt64, maximumSize: Int = 1 << 20, dictionary: [String] = []) {
        generator = SeededGenerator(seed: seed)
        self.maximumSize = maximumSize
        self.dictionary = dictionary
    }

    /// `input` after one to eight stacked edits (mostly one or two); `donor`, another corpus
    /// entry, is spliced in by some of them.
    public mutating func mutate(_ input: [UInt8], format: FuzzInputFormat, donor: [UInt8]) -> [UInt8] {
        var out = input
        let edits = 1 + min(7, trailingOnes(below(256)))
        for _ in 0..<edits {
            if format == .json && below(5) != 0 {
                mutateJSON(&out)
            } else {
                mutateBytes(&out, donor: donor)
            }
        }
        if out.count > maximumSize { out.removeLast(out.count - maximumSize) }
        return out
    }

    /// One byte-level edit of `bytes`.
    public mutating func mutateBytes(_ bytes: inout [UInt8], donor: [UInt8]) {
        if bytes.isEmpty {
            bytes = donor.isEmpty ? junk(1 + below(16)) : donor
            return
        }
        switch below(13) {
        case 0:
            bytes[below(bytes.count)] ^= 1 << UInt8(below(8))
        case 1:
            bytes[below(bytes.count)] = pick(Self.interestingBytes)
        case 2:
            bytes[below(bytes.count)] = UInt8(truncatingIfNeeded: generator.next())
        case 3:
            // A third of the time in the first 64 bytes, where headers keep their sizes and counts.
            let width = below(2) == 0 ? 4 : 8
            guard bytes.count >= width else { return }
            let slots = below(3) == 0 ? min(bytes.count, 64) / width : bytes.count / width
            store(interestingInteger(count: bytes.count), width: width, at: below(slots) * width, in: &bytes)
        case 4:
            let width = pick([1, 2, 4, 8])
            guard bytes.count >= width else { return }
            store(interestingInteger(count: bytes.count), width: width, at: below(bytes.count - width + 1), in: &bytes)
        case 5:
            let width = pick([1, 4, 8])
            guard bytes.count >= width else { return }
            let offset = below(bytes.count - width + 1)
            let delta = UInt64(1 + below(35))
            let old = load(width: width, at: offset, in: bytes)
            store(below(2) == 0 ? old &+ delta : old &- delta, width: width, at: offset, in: &bytes)
        case 6:
            bytes.removeLast(1 + below(bytes.count))
        case 7:
            bytes.append(contentsOf: filler(length: chunkLength(limit: maximumSize - bytes.count), from: bytes))
        case 8:
            let length = chunkLength(limit: bytes.count)
            let start = below(bytes.count - length + 1)
            bytes.removeSubrange(start..<(start + length))
        case 9:
            let length = chunkLength(limit: min(bytes.count, maximumSize - bytes.count))
            guard length > 0 else { return }
            let start = below(bytes.count - length + 1)
            let chunk = Array(bytes[start..<(start + length)])
            bytes.insert(contentsOf: chunk, at: below(bytes.count + 1))
        case 10:
            let length = chunkLength(limit: bytes.count)
            let from = below(bytes.count - length + 1), to = below(bytes.count - length + 1)
            let chunk = Array(bytes[from..<(from + length)])
            bytes.replaceSubrange(to..<(to + length), with: chunk)
        case 11:
            guard !donor.isEmpty else { return }
            let cut = below(bytes.count + 1), donorCut = below(donor.count + 1)
            bytes = Array(bytes[..<cut]) + donor[donorCut...]
        default:
            let length = chunkLength(limit: maximumSize - bytes.count)
            bytes.insert(contentsOf: junk(length), at: below(bytes.count + 1))
        }
    }

    // MARK: Values

    static let interestingBytes: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF, 0x20, 0x10, 0x40, 0xFE]

    static let interestingIntegers: [UInt64] = [
        0, 1, 2, 3, 4, 7, 8, 16, 31, 32, 33, 63, 64, 100, 127, 128, 255, 256, 1023, 1024, 4096,
        32767, 32768, 65535, 65536, 0x100_0000, 0x4000_0000, 0x7FFF_FFFE, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFE,
        0xFFFF_FFFF, 0x1_0000_0000,
        1 << 40, 1 << 53, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, UInt64.max - 1, UInt64.max,
    ]

    /// A boundary value, a small negative number (two's complement) or a value near `count`.
    mutating func interestingInteger(count: Int) -> UInt64 {
        switch below(8) {
        case 0: return UInt64(bitPattern: -Int64(1 + below(16)))
        case 1: return UInt64(max(0, count - 8 + below(17)))
        default: return pick(Self.interestingIntegers)
        }
    }

    /// `length` bytes of zeros, 0xFF, random bytes or a copy of part of `bytes`.
    mutating func filler(length: Int, from bytes: [UInt8]) -> [UInt8] {
        switch below(4) {
        case 0: return [UInt8](repeating: 0, count: length)
        case 1: return [UInt8](repeating: 0xFF, count: length)
        case 2 where !bytes.isEmpty:
            let start = below(bytes.count)
            return (0..<length).map { bytes[(start + $0) % bytes.count] }
        default: return junk(length)
        }
    }

    mutating func junk(_ length: Int) -> [UInt8] {
        (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
    }

    /// A chunk length in 1...`limit` (0 when `limit` < 1), mostly short.
    mutating func chunkLength(limit: Int) -> Int {
        guard limit >= 1 else { return 0 }
        let scale = pick([4, 16, 64, 1024, 65536])
        return 1 + below(min(limit, scale))
    }

    func load(width: Int, at offset: Int, in bytes: [UInt8]) -> UInt64 {
        (0..<width).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
    }

    func store(_ value: UInt64, width: Int, at offset: Int, in bytes: inout [UInt8]) {
        for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }

    // MARK: Random helpers

    /// Uniform in 0..<n (n ≥ 1).
    mutating func below(_ n: Int) -> Int { Int(generator.next() % UInt64(n)) }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// Trailing one bits of `n`: 0 half the time, 1 a quarter, … (a geometric count).
    func trailingOnes(_ n: Int) -> Int { (~n).trailingZeroBitCount }
}
