import Foundation

/// One GGUF metadata value as the positional parser needs it (numbers of any GGUF numeric type
/// as Double, strings as String), so that this file does not depend on the GGUF reader's types.
public enum RopeMetadataValue: Sendable, Equatable, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByStringLiteral {
    /// Any numeric GGUF value.
    case number(Double)
    /// A GGUF string.
    case string(String)

    /// A number.
    public init(floatLiteral value: Double) { self = .number(value) }
    /// A number.
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    /// A string.
    public init(stringLiteral value: String) { self = .string(value) }
}

/// Reading the positional method from GGUF metadata, as llama.cpp does (`llama_model_loader`
/// hparams; `LLM_KV_ROPE_*` keys):
///
/// - `{arch}.rope.freq_base` → b (default: the model's rope_theta)
/// - `{arch}.rope.dimension_count` → d (default: head_dim)
/// - `{arch}.rope.scaling.type`: "none" | "linear" | "yarn" (llama.cpp's default is "linear",
///   which with factor 1 is plain RoPE)
/// - `{arch}.rope.scaling.factor` (or the legacy `{arch}.rope.scale_linear`) → s
///   (llama.cpp's freq_scale = 1/s)
/// - `{arch}.rope.scaling.original_context_length` → YaRN's L0 (default: the context length)
///
/// Llama 3.1 GGUFs carry their llama3 smoothing as per-pair divisors in the tensor
/// `rope_freqs.weight` (llama.cpp's freq_factors): pass them as `frequencyFactors`; they become
/// a LongRoPE scheme with equal short and long lists (θ_j / f_j, attention factor 1), times the
/// linear factor if any. Keys outside `{arch}.rope.*` are ignored.
extension PositionalConfiguration {
    /// The positional configuration of a GGUF model whose `llama.*` metadata gave `model`;
    /// `metadata` holds at least the `{architecture}.rope.*` keys. Errors name the GGUF key.
    public init(gguf metadata: [String: RopeMetadataValue], architecture: String = "llama", model: LlamaConfiguration,
                frequencyFactors: [Double]? = nil, source: String) throws {
        let prefix = architecture + ".rope."
        func fail(_ key: String, _ problem: String) -> ConfigurationError {
            ConfigurationError(source: source, key: key, problem: problem)
        }
        func number(_ name: String) throws -> Double? {
            switch metadata[prefix + name] {
            case nil: return nil
            case .number(let v)?:
                guard v.isFinite else { throw fail(prefix + name, "expected a finite number, found \(v)") }
                return v
            case .string(let s)?: throw fail(prefix + name, "expected a number, found the string \"\(s)\"")
            }
        }
        func integer(_ name: String) throws -> Int? {
            guard let v = try number(name) else { return nil }
            guard v == v.rounded(), abs(v) < 1e15 else { throw fail(prefix + name, "expected an integer, found \(v)") }
            return Int(v)
        }
        let typeName: String
        switch metadata[prefix + "scaling.type"] {
        case nil: typeName = "linear"
        case .string(let s)?: typeName = s
        case .number(let v)?: throw fail(prefix + "scaling.type", "expected a string, found the number \(v)")
        }
        let factorKey = metadata[prefix + "scaling.factor"] != nil ? "scaling.factor" : "scale_linear"
        // llama.cpp treats a factor of 0 as absent.
        let factor = try number(factorKey).flatMap { $0 == 0 ? nil : $0 } ?? 1
        let L = model.maxPositionEmbeddings

        var scheme: PositionalScheme
        switch typeName {
        case "none":
            scheme = .none
        case "linear":
            scheme = factor == 1 ? .none : .linear(factor: factor)
        case "yarn":
            scheme = .yarn(YaRNParameters(factor: factor,
                                          originalContextLength: try integer("scaling.original_context_length") ?? L))
        default:
            throw fail(prefix + "scaling.type", "unsupported rope scaling type \"\(typeName)\" (supported: none, linear, yarn)")
        }
        if let frequencyFactors {
            switch scheme {
            case .none, .linear:
                let divisors = frequencyFactors.map { $0 * factor }
                scheme = .longRoPE(LongRoPEParameters(shortFactor: divisors, longFactor: divisors, originalContextLength: L,
                                                      factor: 1, attentionFactor: 1))
            default:
                throw fail("rope_freqs.weight", "per-pair frequency factors are supported with linear scaling only, not \(typeName)")
            }
        }
        self.init(scheme: scheme, base: try number("freq_base") ?? model.ropeTheta,
                  rotaryDimension: try integer("dimension_count") ?? model.rotaryDimension, contextLength: L,
                  headCount: model.headCount)
        guard rotaryDimension <= model.headDimension else {
            throw fail(prefix + "dimension_count", "\(rotaryDimension) exceeds the head dimension \(model.headDimension)")
        }
        try validate(source: source) { key in
            switch key {
            case .base: return prefix + "freq_base"
            case .rotaryDimension: return prefix + "dimension_count"
            case .contextLength: return architecture + ".context_length"
            case .factor: return prefix + factorKey
            case .originalContextLength: return prefix + "scaling.original_context_length"
            case .shortFactor, .longFactor: return "rope_freqs.weight"
            default: return key.hfName(prefix: prefix + "scaling.")
            }
        }
    }
}
