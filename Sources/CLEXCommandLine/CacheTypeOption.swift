import CLEXModel
import CLEXTensor

/// llama.cpp's `-ctk/--cache-type-k` and `-ctv/--cache-type-v`: the element types of the KV
/// cache, for every command that runs a model.
enum CacheTypeOption {
    static let options = [OptionSpec("--cache-type-k", ["-ctk"], value: "TYPE"),
                          OptionSpec("--cache-type-v", ["-ctv"], value: "TYPE")]

    static let help = """
      -ctk, --cache-type-k T  element type of the KV cache's keys: f32, f16 (default), bf16, q8_0, q4_0
      -ctv, --cache-type-v T  element type of its values (same choices and default); see clex info --context N
                              for the memory each takes
    """

    /// The types the options name (f16 for each one not given).
    static func parse(_ args: Arguments) throws -> KVCacheTypes {
        func type(_ flag: String) throws -> ElementType {
            guard let name = args.string(flag) else { return .f16 }
            do {
                return try KVCacheTypes.type(named: name, flag: flag)
            } catch {
                throw UsageError("\(error)", command: args.spec.name)
            }
        }
        return KVCacheTypes(key: try type("--cache-type-k"), value: try type("--cache-type-v"))
    }
}
