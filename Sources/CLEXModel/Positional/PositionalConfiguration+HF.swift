import Foundation

/// Reading and writing the positional method of an HF config.json: the legacy `rope_scaling`
/// object (`type` or `rope_type`) and transformers v5's `rope_parameters` (which also carries
/// `rope_theta` and may carry `partial_rotary_factor`).
///
/// Semantics follow transformers' `modeling_rope_utils.py` (`standardize_rope_params`, the
/// `_compute_*_parameters` functions and `RotaryEmbeddingConfigMixin._validate_*`). HF only
/// raises for missing required keys and merely warns about unknown keys, wrong types and bad
/// ranges; here every one of those is a `ConfigurationError` naming the key, because a silently
/// ignored key changes what the model computes. Rules beyond HF's: finite numbers, factor ≥ 1,
/// beta_fast ≥ beta_slow, attention_factor > 0, list entries > 0, and CLEX's keys (the reference
/// `CLEX/clex_layer.py` reads max_factor, param_factor, act and time_dt).
///
/// Extensions of the vocabulary: `"type": "ntk"` (static NTK-aware scaling, key `factor`),
/// `"type": "alibi"` (no RoPE), `"type": "clex"` (the CLEX reference's configs), `"su"` (Phi-3's
/// early name of longrope, as HF's Phi-3 config accepts).
extension PositionalConfiguration {
    /// Members any rope object may carry.
    static let commonRopeKeys: Set<String> = ["type", "rope_type", "rope_theta", "partial_rotary_factor"]

    /// Required and optional members per type (HF `_validate_*_rope_parameters`).
    static let ropeKeys: [String: (required: Set<String>, optional: Set<String>)] = [
        "default": ([], []),
        "linear": (["factor"], []),
        "ntk": (["factor"], []),
        // HF's older validators accepted original_max_position_embeddings for dynamic; its
        // formula uses max_position_embeddings regardless, and so does this tool.
        "dynamic": (["factor"], ["original_max_position_embeddings"]),
        "yarn": (["factor"], ["original_max_position_embeddings", "attention_factor", "beta_fast", "beta_slow",
                              "mscale", "mscale_all_dim", "truncate"]),
        "longrope": (["short_factor", "long_factor"], ["factor", "attention_factor", "original_max_position_embeddings"]),
        "llama3": (["factor", "low_freq_factor", "high_freq_factor"], ["original_max_position_embeddings"]),
        "alibi": ([], []),
        "clex": (["max_factor", "param_factor", "act", "time_dt"], ["factor"]),
    ]

    /// The positional configuration of an HF config.json. `model` is the same document read by
    /// `LlamaConfiguration(hfConfig:source:)`. Reads `rope_scaling` or `rope_parameters`,
    /// `rope_theta`, `partial_rotary_factor`, a top-level `original_max_position_embeddings`
    /// (Phi-3 keeps it there; HF gives it priority) and CLEX's top-level `log_scale`.
    public init(hfConfig data: Data, model: LlamaConfiguration, source: String) throws {
        let top = try JSONFields(data: data, source: source)
        var key = "rope_scaling"
        var object: [String: Any]?
        for candidate in ["rope_scaling", "rope_parameters"] where top.has(candidate) {
            guard let o = top.object[candidate] as? [String: Any] else {
                throw ConfigurationError(source: source, key: candidate, problem: "expected an object")
            }
            if object != nil {
                throw ConfigurationError(source: source, key: candidate, problem: "both rope_scaling and rope_parameters are given; keep one")
            }
            (key, object) = (candidate, o)
        }
        try self.init(ropeObject: object, objectKey: key, topLevel: top.object, model: model, source: source)
    }

    /// Whether the reference's model of `architecture` applies CLEX's `log_scale`: its LLaMA
    /// model does (LlamaFlashAttention2 multiplies the queries by ln N / ln L); its Phi-2 and
    /// Mixtral models never read the key (`CLEX/phi2/modeling_phi2_clex.py`,
    /// `CLEX/mixtral/modeling_mixtral_clex.py`), although CLEXMixtralConfig writes it.
    static func readsLogScale(_ architecture: ModelArchitecture) -> Bool {
        architecture != .phi2 && architecture != .mixtral
    }

    /// CLEX's `log_scale` for a model of `architecture`: the key, true when absent (the default
    /// of the reference's CLEXLlamaConfig), and false for the families whose reference model
    /// ignores it.
    static func logScale(_ top: JSONFields, _ architecture: ModelArchitecture) throws -> Bool {
        guard readsLogScale(architecture) else { return false }
        return try top.bool("log_scale") ?? true
    }

    /// The positional configuration of `model` from its `ropeScalingJSON` (errors name
    /// "rope_scaling.…"); `logScale` is CLEX's top-level `log_scale`, which
    /// `LlamaConfiguration` does not keep.
    public init(model: LlamaConfiguration, logScale: Bool = false, source: String) throws {
        var object: [String: Any]?
        if let json = model.ropeScalingJSON {
            let parsed = try JSONFields(data: json, source: source)
            object = parsed.object
        }
        try self.init(ropeObject: object, objectKey: "rope_scaling", topLevel: ["log_scale": logScale], model: model,
                      source: source)
    }

    /// The positional configuration from a rope object (`objectKey` names it in errors:
    /// "rope_scaling" or "rope_parameters"; nil or empty: plain RoPE) and the config's other
    /// top-level members (`rope_theta`, `partial_rotary_factor`,
    /// `original_max_position_embeddings`, `log_scale`).
    public init(ropeObject: [String: Any]?, objectKey: String = "rope_scaling", topLevel: [String: Any] = [:],
                model: LlamaConfiguration, source: String) throws {
        let top = JSONFields(topLevel, source: source)
        let rope = JSONFields(ropeObject ?? [:], source: source, prefix: objectKey + ".")
        let prefix = objectKey + "."
        func fail(_ key: String, _ problem: String) -> ConfigurationError {
            ConfigurationError(source: source, key: key, problem: problem)
        }

        // Type: "rope_type", or the legacy "type" (HF copies it); absent means "default".
        let ropeType = try rope.string("rope_type"), legacyType = try rope.string("type")
        if let ropeType, let legacyType, ropeType != legacyType {
            throw fail(prefix + "type", "\"\(legacyType)\" disagrees with rope_type \"\(ropeType)\"")
        }
        var type = ropeType ?? legacyType ?? "default"
        if type == "su" { type = "longrope" }
        let typeKey = prefix + (ropeType != nil ? "rope_type" : "type")
        guard let keys = Self.ropeKeys[type] else {
            throw fail(typeKey, "unknown rope type \"\(type)\" (supported: \(Self.ropeKeys.keys.sorted().joined(separator: ", ")), su)")
        }
        let present = Set(rope.object.keys.filter { rope.has($0) })
        if let unknown = present.subtracting(keys.required).subtracting(keys.optional).subtracting(Self.commonRopeKeys).sorted().first {
            let allowed = keys.required.union(keys.optional).union(Self.commonRopeKeys).sorted().joined(separator: ", ")
            throw fail(prefix + unknown, "unknown key for rope type \"\(type)\" (allowed: \(allowed))")
        }
        if let missing = keys.required.subtracting(present).sorted().first {
            throw fail(prefix + missing, "required key for rope type \"\(type)\" is missing")
        }

        // rope_theta: rope_parameters' own value wins over the top level (HF standardize_rope_params).
        var baseKey = "rope_theta"
        var base = try top.double("rope_theta") ?? model.ropeTheta
        if let theta = try rope.double("rope_theta") { (base, baseKey) = (theta, prefix + "rope_theta") }

        // Rotary dimension: int(head_dim × partial_rotary_factor) (HF).
        var dimensionKey = "head_dim"
        var rotary = model.rotaryDimension
        for (fields, name) in [(top, "partial_rotary_factor"), (rope, prefix + "partial_rotary_factor")] {
            if let factor = try fields.double("partial_rotary_factor") {
                guard factor > 0 && factor <= 1 else { throw fail(name, "expected a number in (0, 1], found \(factor)") }
                rotary = Int(Double(model.headDimension) * factor)
                dimensionKey = name
            }
        }

        // L0 for yarn/longrope/llama3: a top-level original_max_position_embeddings wins (HF's
        // Phi-3 exception), then the rope object's, then max_position_embeddings.
        let L = model.maxPositionEmbeddings
        func originalLength() throws -> Int {
            let outer = try top.int("original_max_position_embeddings")
            let inner = try rope.int("original_max_position_embeddings")
            if let outer, let inner, outer != inner {
                throw fail(prefix + "original_max_position_embeddings",
                           "\(inner) disagrees with the top-level original_max_position_embeddings \(outer)")
            }
            return outer ?? inner ?? L
        }
        func required(_ key: String) throws -> Double {
            guard let v = try rope.double(key) else { throw fail(prefix + key, "required key is missing") }
            return v
        }

        let scheme: PositionalScheme
        switch type {
        case "linear": scheme = .linear(factor: try required("factor"))
        case "ntk": scheme = .ntk(factor: try required("factor"))
        case "dynamic":
            _ = try rope.int("original_max_position_embeddings")
            scheme = .dynamic(factor: try required("factor"))
        case "yarn":
            // HF: beta_fast/beta_slow default to 32/1 (a null or 0 counts as absent: `or 32`).
            func orDefault(_ key: String, _ fallback: Double) throws -> Double {
                let v = try rope.double(key)
                return v == nil || v == 0 ? fallback : v!
            }
            scheme = .yarn(YaRNParameters(
                factor: try required("factor"), originalContextLength: try originalLength(),
                betaFast: try orDefault("beta_fast", 32), betaSlow: try orDefault("beta_slow", 1),
                mscale: try rope.double("mscale"), mscaleAllDim: try rope.double("mscale_all_dim"),
                attentionFactor: try rope.double("attention_factor"), truncate: try rope.bool("truncate") ?? true))
        case "longrope":
            let l0 = try originalLength()
            // HF: `factor` if given, else max_position_embeddings / L0 (only the attention factor
            // uses it, and it is 1 for any factor ≤ 1, so a ratio below 1 is taken as 1).
            let factor = try rope.double("factor") ?? max(Double(L) / Double(max(l0, 1)), 1)
            scheme = .longRoPE(LongRoPEParameters(
                shortFactor: try rope.doubles("short_factor") ?? [], longFactor: try rope.doubles("long_factor") ?? [],
                originalContextLength: l0, factor: factor, attentionFactor: try rope.double("attention_factor")))
        case "llama3":
            scheme = .llama3(Llama3Parameters(
                factor: try required("factor"), lowFrequencyFactor: try required("low_freq_factor"),
                highFrequencyFactor: try required("high_freq_factor"), originalContextLength: try originalLength()))
        case "alibi": scheme = .alibi
        case "clex":
            guard let maxFactor = try rope.int("max_factor") else { throw fail(prefix + "max_factor", "required key is missing") }
            guard let paramFactor = try rope.int("param_factor") else { throw fail(prefix + "param_factor", "required key is missing") }
            let actName = try rope.string("act") ?? ""
            guard let act = CLEXActivation(rawValue: actName) else {
                throw fail(prefix + "act", "expected \"tanh\" or \"silu\", found \"\(actName)\"")
            }
            if let dummy = try rope.double("factor"), !(dummy >= 1) {
                throw fail(prefix + "factor", "expected a number ≥ 1 (CLEX ignores it), found \(dummy)")
            }
            scheme = .clex(CLEXParameters(maxFactor: maxFactor, paramFactor: paramFactor, activation: act,
                                          timeStep: try required("time_dt"), logScale: try Self.logScale(top, model.architecture)))
        default: scheme = .none
        }
        if Self.readsLogScale(model.architecture), try top.bool("log_scale") == true, type != "clex" {
            throw fail("log_scale", "log_scale applies to CLEX only; the rope type is \"\(type)\"")
        }
        self.init(scheme: scheme, base: base, rotaryDimension: rotary, contextLength: L, headCount: model.headCount)
        try validate(source: source) { key in
            switch key {
            case .base: return baseKey
            case .rotaryDimension: return dimensionKey
            default: return key.hfName(prefix: prefix)
            }
        }
    }

    /// The `rope_scaling` object HF (and the CLEX reference) load for this configuration, or
    /// nil for plain RoPE. Throws for what HF cannot express (llama.cpp's YaRN ext_factor ≠ 1).
    public func hfRopeScaling(headDimension: Int? = nil) throws -> [String: Any]? {
        var o: [String: Any]
        switch scheme {
        case .none: return nil
        case .linear(let s), .ntk(let s), .dynamic(let s): o = ["factor": s]
        case .yarn(let y):
            guard y.extrapolationMix == 1 else {
                throw ConfigurationError(source: "configuration", key: "--yarn-ext-factor",
                                         problem: "HF's YaRN has no ext_factor; only 1 can be written to config.json")
            }
            o = ["factor": y.factor, "original_max_position_embeddings": y.originalContextLength,
                 "beta_fast": y.betaFast, "beta_slow": y.betaSlow]
            if !y.truncate { o["truncate"] = false }
            if y.attentionFactor != nil || y.attentionScale != 1 {
                o["attention_factor"] = y.resolvedAttentionFactor
            } else {
                if let m = y.mscale { o["mscale"] = m }
                if let m = y.mscaleAllDim { o["mscale_all_dim"] = m }
            }
        case .longRoPE(let p):
            o = ["short_factor": p.shortFactor, "long_factor": p.longFactor, "factor": p.factor,
                 "original_max_position_embeddings": p.originalContextLength]
            if let a = p.attentionFactor { o["attention_factor"] = a }
        case .llama3(let p):
            o = ["factor": p.factor, "low_freq_factor": p.lowFrequencyFactor, "high_freq_factor": p.highFrequencyFactor,
                 "original_max_position_embeddings": p.originalContextLength]
        case .alibi: o = [:]
        case .clex(let p):
            // The reference reads rope_scaling["type"] and the dummy "factor".
            return ["type": "clex", "max_factor": p.maxFactor, "param_factor": p.paramFactor,
                    "act": p.activation.rawValue, "time_dt": p.timeStep, "factor": 1]
        }
        o["type"] = scheme.typeName
        o["rope_type"] = scheme.typeName
        if let headDimension, headDimension != rotaryDimension {
            o["partial_rotary_factor"] = Double(rotaryDimension) / Double(headDimension)
        }
        return o
    }

    /// Top-level config.json members for this configuration, to merge into
    /// `LlamaConfiguration.hfConfigJSON(extra:)`: `rope_theta`, `rope_scaling` (null for plain
    /// RoPE) and CLEX's `log_scale`.
    public func hfConfigMembers(headDimension: Int? = nil) throws -> [String: Any] {
        var o: [String: Any] = ["rope_theta": base, "rope_scaling": try hfRopeScaling(headDimension: headDimension) ?? NSNull()]
        if case .clex(let p) = scheme { o["log_scale"] = p.logScale }
        return o
    }
}
