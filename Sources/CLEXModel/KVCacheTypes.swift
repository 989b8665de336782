import CLEXTensor

/// The element types of a KV cache's keys and values, as llama.cpp's `--cache-type-k` and
/// `--cache-type-v` name them (`f32`, `f16`, `bf16`, `q8_0`, `q4_0`). Keys and values are stored
/// one token row at a time (all kv heads of a layer: Hkv·D elements) in ggml's block layouts, so a
/// quantised type needs Hkv·D to be a whole number of its 32-element blocks.
public struct KVCacheTypes: Sendable, Equatable, CustomStringConvertible {
    public var key: ElementType
    public var value: ElementType

    /// The types a cache can hold, in the order help texts list them.
    public static let supported: [ElementType] = [.f32, .f16, .bf16, .q8_0, .q4_0]

    /// llama.cpp's default (and ours for inference): binary16 keys and values, half of Float32's
    /// memory with logits within ~1e-3 of it.
    public static let f16 = KVCacheTypes(key: .f16, value: .f16)
    /// Float32 keys and values: the exact reference the other types are measured against.
    public static let f32 = KVCacheTypes(key: .f32, value: .f32)

    public init(key: ElementType, value: ElementType) {
        self.key = key
        self.value = value
    }

    /// The type called `name` (`f32`, `f16`, `bf16`, `q8_0`, `q4_0`, any case); `flag` names the
    /// option in the error.
    public static func type(named name: String, flag: String) throws -> ElementType {
        guard let type = supported.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else {
            throw ModelLoadError("\(flag): unknown cache type \"\(name)\" (expected one of "
                                     + supported.map { $0.rawValue.lowercased() }.joined(separator: ", ") + ")")
        }
        return type
    }

    /// Throws unless both types are supported and divide a token row of `c` into whole blocks.
    public func validate(for c: LlamaConfiguration) throws {
        let row = c.keyValueHeadCount * c.headDimension
        for (what, type) in [("keys", key), ("values", value)] {
            guard Self.supported.contains(type) else {
                throw ModelLoadError("a KV cache cannot hold \(what) as \(type) (expected one of "
                                         + Self.supported.map { $0.rawValue.lowercased() }.joined(separator: ", ") + ")")
            }
            guard row % type.blockSize == 0 else {
                throw ModelLoadError("a \(type.rawValue.lowercased()) cache needs kv heads × head dimension to be a "
                                         + "multiple of \(type.blockSize); this model has \(c.keyValueHeadCount) × "
                                         + "\(c.headDimension) = \(row); use f16 or f32")
            }
        }
    }

    /// Bytes one token takes in the cache of a model shaped `c` (every layer, keys and values).
    public func bytesPerToken(_ c: LlamaConfiguration) -> Int {
        let row = c.keyValueHeadCount * c.headDimension
        return c.layerCount * ((key.byteCount(elements: row) ?? 0) + (value.byteCount(elements: row) ?? 0))
    }

    /// "k f16, v q8_0" style.
    public var description: String { "k \(key.rawValue.lowercased()), v \(value.rawValue.lowercased())" }
}
