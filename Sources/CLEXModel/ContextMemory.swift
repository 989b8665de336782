import Foundation

/// The memory a session's context takes, part by part, and the check of a capacity against
/// what the machine has — made before anything is allocated, so that a context that cannot fit
/// is refused with the numbers a user needs (bytes per token, the largest context that fits)
/// instead of the kernel killing the process part-way.
public struct ContextMemory: Sendable {
    /// KV cache bytes per token (every layer, keys and values, in their cache types).
    public let cacheBytesPerToken: Int
    /// Other bytes per token of context: the rotation table (cos and sin per rotated pair) and
    /// the Float32 keys and values a prefill attends over.
    public let workingBytesPerToken: Int
    /// Bytes that do not grow with the context: one prefill chunk's activations and logits.
    public let fixedBytes: Int
    /// The cache types counted.
    public let cacheTypes: KVCacheTypes

    public init(_ c: LlamaConfiguration, cacheTypes: KVCacheTypes) {
        self.cacheTypes = cacheTypes
        cacheBytesPerToken = cacheTypes.bytesPerToken(c)
        workingBytesPerToken = 4 * c.headDimension + 2 * 4 * c.keyValueHeadCount * c.headDimension
        let chunk = LlamaModel.prefillChunk
        fixedBytes = 4 * chunk * (3 * c.intermediateSize + 6 * c.hiddenSize + c.vocabularySize)
    }

    /// Bytes per token of context, everything counted.
    public var bytesPerToken: Int { cacheBytesPerToken + workingBytesPerToken }

    /// Bytes a context of `tokens` takes at most (Int.max on overflow).
    public func bytes(_ tokens: Int) -> Int {
        let (grown, overflow) = tokens.multipliedReportingOverflow(by: bytesPerToken)
        return overflow || grown > Int.max - fixedBytes ? Int.max : grown + fixedBytes
    }

    /// The KV cache's share of `bytes(tokens)`.
    public func cacheBytes(_ tokens: Int) -> Int {
        let (bytes, overflow) = tokens.multipliedReportingOverflow(by: cacheBytesPerToken)
        return overflow ? Int.max : bytes
    }

    /// The largest context whose `bytes` fit in `available` bytes (0 when not even the fixed part
    /// does).
    public func largestContext(fitting available: Int) -> Int {
        available <= fixedBytes ? 0 : (available - fixedBytes) / bytesPerToken
    }

    /// Throws when a context of `tokens` would not fit in the memory available now
    /// (`MemoryBudget.usable(of:)`), naming what it needs, the bytes per token and the largest context that
    /// fits with these cache types.
    public func require(_ tokens: Int) throws {
        guard let available = MemoryBudget.availableBytes() else { return }
        let usable = MemoryBudget.usable(of: available)
        let needed = bytes(tokens)
        guard needed > usable else { return }
        let g = MemoryBudget.gigabytes
        throw MemoryError(description: "a context of \(tokens) tokens needs \(needed == Int.max ? "more than 9.2 EB" : g(needed)) "
                          + "(KV cache \(cacheTypes): \(cacheBytesPerToken) bytes per token = \(g(cacheBytes(tokens))); "
                          + "rotation table and prefill keys: \(workingBytesPerToken) bytes per token; activations "
                          + "\(g(fixedBytes))), but this machine has \(g(available)) available; the largest context that "
                          + "fits is \(largestContext(fitting: usable)) tokens. Use a smaller --context, a smaller cache "
                          + "type (-ctk/-ctv q8_0 or q4_0), or free memory")
    }
}
