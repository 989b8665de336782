import CLEXModel
import CLEXTensor
import Foundation
import Testing

/// The KV cache's element types, its memory (reserved, committed as written) and the checks made
/// before a session allocates it.
@Suite("KV cache types and memory")
struct KVCacheTests {
    /// A small random LLaMA whose token rows (2 kv heads × 16) are one 32-element block, so every
    /// cache type applies; weights scaled up from the init so attention is far from uniform.
    static func model() -> LlamaModel {
        let c = LlamaConfiguration(vocabularySize: 61, hiddenSize: 64, intermediateSize: 96, layerCount: 2, headCount: 4,
                                   keyValueHeadCount: 2, rmsNormEpsilon: 1e-5, ropeTheta: 10000, maxPositionEmbeddings: 64,
                                   rotaryLayout: .interleaved)
        var p = LlamaParameters(randomFor: c, seed: 11)
        for slot in CheckpointNames.slots(layers: c.layerCount, tied: false) where p[slot]!.tensor.rank == 2 {
            p[slot] = Weight(Ops.scale(p[slot]!.tensor, 4))
        }
        return LlamaModel(configuration: c, parameters: p)
    }

    /// Logits of a 40-token prefill and 24 decoded tokens with a cache of `types`.
    static func logits(_ model: LlamaModel, _ types: KVCacheTypes) throws -> Tensor {
        let tokens = (0..<64).map { Int32(($0 * 29 + 7) % 61) }
        let session = try InferenceSession(model: model, capacity: 64, rotary: InferenceSession.defaultRotary(model.configuration),
                                           precision: .float32, cacheTypes: types)
        let out = Tensor(zeros: [64, 61])
        out.slice(rows: 0..<40).assign(try session.feed(Array(tokens[0..<40])))
        for i in 40..<64 { out.slice(rows: i..<(i + 1)).assign(try session.feed([tokens[i]])) }
        return out
    }

    /// Each lossy type stays within its precision of the Float32 cache, and is really applied
    /// (nonzero difference). Measured worst row errors (keys and values of the type; keys only
    /// are 3–4× smaller): f16 4.1e-4, bf16 5.3e-3, q8_0 1.4e-2, q4_0 0.22 — in the ratio of the
    /// types' steps (2⁻¹¹ relative, 2⁻⁸, 1/254 and 1/16 of a block's largest magnitude) on this
    /// model's scaled-up weights. Bounds ~3× those; a wrong block layout, scale or key order
    /// gives O(1).
    @Test("f16, bf16, q8_0 and q4_0 caches stay within their precision of a Float32 cache, keys and values alike",
          arguments: [(ElementType.f16, Float(1.5e-3)), (.bf16, 1.5e-2), (.q8_0, 4e-2), (.q4_0, 0.6)])
    func typesAgainstFloat32(type: ElementType, bound: Float) throws {
        let model = Self.model()
        let reference = try Self.logits(model, .f32)
        for types in [KVCacheTypes(key: type, value: type), KVCacheTypes(key: type, value: .f32), KVCacheTypes(key: .f32, value: type)] {
            let error = worstRelativeError(try Self.logits(model, types), reference)
            #expect(error < bound && error > 0, "\(types): \(error)")
        }
    }

    @Test("a quantised cache type needs whole blocks per token row; the error names the sizes and what to use")
    func quantisedTypesNeedWholeBlocks() throws {
        let model = tinyModel()   // 2 kv heads × 8 = 16 elements per row
        for type in [ElementType.q8_0, .q4_0] {
            let error = #expect(throws: (any Error).self) {
                try InferenceSession(model: model, capacity: 8, rotary: InferenceSession.defaultRotary(model.configuration),
                                     cacheTypes: KVCacheTypes(key: .f16, value: type))
            }
            let message = "\(error.map { "\($0)" } ?? "")"
            #expect(message.contains("multiple of 32") && message.contains("2 × 8 = 16") && message.contains("use f16"), "\(message)")
        }
        #expect(throws: (any Error).self) { try KVCacheTypes.type(named: "q5_1", flag: "--cache-type-k") }
        #expect(try KVCacheTypes.type(named: "Q8_0", flag: "-ctk") == .q8_0)
    }

    /// The cache reserves its whole capacity as address space but takes memory only for the
    /// tokens written: a 4 GiB reservation leaves the resident set where it was.
    @Test("the cache's memory is committed as tokens are written, not reserved whole")
    func memoryCommittedAsWritten() throws {
        let c = LlamaConfiguration(vocabularySize: 8, hiddenSize: 1024, intermediateSize: 8, layerCount: 8, headCount: 8,
                                   keyValueHeadCount: 8)
        let before = try Self.residentBytes()
        let cache = try KVCache(configuration: c, capacity: 65536, types: .f32)   // 64 KiB a token: 4 GiB
        #expect(KVCache.byteCount(c, capacity: 65536, types: .f32) == 1 << 32)
        let after = try Self.residentBytes()
        #expect(after - before < 64 << 20, "resident set grew by \(after - before) bytes")
        #expect(cache.usedBytes == 0 && cache.remaining == 65536)
    }

    @Test("a context that cannot fit is refused with its bytes per token and the largest context that fits")
    func contextPlanning() throws {
        let c = Self.model().configuration   // 2 layers, rows of 32
        let memory = ContextMemory(c, cacheTypes: KVCacheTypes(key: .q8_0, value: .f16))
        #expect(memory.cacheBytesPerToken == 2 * (34 + 64))
        #expect(memory.bytes(1000) == memory.fixedBytes + 1000 * memory.bytesPerToken)
        #expect(memory.largestContext(fitting: memory.bytes(1000)) == 1000)
        #expect(memory.largestContext(fitting: memory.fixedBytes - 1) == 0)
        let error = #expect(throws: MemoryError.self) { try memory.require(1 << 50) }
        let message = "\(error.map { "\($0)" } ?? "")"
        #expect(message.contains("a context of \(1 << 50) tokens") && message.contains("k q8_0, v f16: 196 bytes per token")
                && message.contains("the largest context that fits is"), "\(message)")
        try memory.require(1000)
    }

    /// VmRSS of /proc/self/status, in bytes.
    static func residentBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        return try #require(Int(line.split(separator: " ")[1])) * 1024
    }
}
