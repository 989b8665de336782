import CLEXTensor
import Foundation

/// Which positional method a model runs and with what parameters: what config.json's
/// `rope_scaling` / `rope_parameters`, GGUF `llama.rope.*` metadata and the command-line flags
/// describe (see `PositionalConfiguration+HF.swift`, `+GGUF.swift`, `+CommandLine.swift`).
///
/// The formulas follow HF transformers `modeling_rope_utils.py` (the de-facto specification,
/// ../shared/spec/rope-scaling.md) and, for CLEX, the authors' `CLEX/clex_layer.py`
/// (../shared/spec/clex.md).
public struct PositionalConfiguration: Sendable, Equatable {
    /// The method and its own parameters.
    public var scheme: PositionalScheme
    /// RoPE base b (`rope_theta`, GGUF `rope.freq_base`).
    public var base: Double
    /// Rotary dimension d: the rotated part of each head (head_dim × partial_rotary_factor;
    /// GGUF `rope.dimension_count`). The methods produce d/2 frequencies.
    public var rotaryDimension: Int
    /// L: the window of the configuration (`max_position_embeddings`): the dynamic-NTK
    /// threshold, the default original length of YaRN/LongRoPE/llama3, CLEX's training window.
    public var contextLength: Int
    /// Query heads (ALiBi has one slope per head).
    public var headCount: Int

    /// A configuration from explicit values.
    public init(scheme: PositionalScheme = .none, base: Double = 10000, rotaryDimension: Int,
                contextLength: Int, headCount: Int = 1) {
        self.scheme = scheme
        self.base = base
        self.rotaryDimension = rotaryDimension
        self.contextLength = contextLength
        self.headCount = headCount
    }

    /// The plain-RoPE configuration of `model` (rope_theta, its rotary dimension,
    /// max_position_embeddings).
    public init(model: LlamaConfiguration, scheme: PositionalScheme = .none) {
        self.init(scheme: scheme, base: model.ropeTheta, rotaryDimension: model.rotaryDimension,
                  contextLength: model.maxPositionEmbeddings, headCount: model.headCount)
    }

    /// Checks every value against the rules of `validate(source:name:)` with HF key names.
    public func validate(source: String) throws {
        try validate(source: source) { $0.hfName(prefix: "rope_scaling.") }
    }

    /// The method this configuration describes. CLEX starts from freshly initialised ODE
    /// weights drawn with `seed` (U Kaiming-uniform, D = 0); load a checkpoint's with
    /// `setLearnedParameter`.
    public func makeMethod(seed: UInt64 = 0) throws -> any PositionalMethod {
        try validate(source: "positional configuration")
        switch scheme {
        case .clex: return CLEXPositional(configuration: self, seed: seed)
        default: return FixedPositional(configuration: self)
        }
    }
}

/// A positional method and its own parameters.
public enum PositionalScheme: Sendable, Equatable {
    /// Plain RoPE (HF "default"): θ_j = b^(−2j/d).
    case none
    /// Position interpolation (HF "linear"): θ_j / s.
    case linear(factor: Double)
    /// Static NTK-aware scaling: base b·α^(d/(d−2)) (HF has no type name; "ntk" here).
    case ntk(factor: Double)
    /// Dynamic NTK (HF "dynamic"): the NTK base grows with the context past L.
    case dynamic(factor: Double)
    /// YaRN (HF "yarn").
    case yarn(YaRNParameters)
    /// LongRoPE (HF "longrope"; Phi-3's "su").
    case longRoPE(LongRoPEParameters)
    /// Llama 3.1 frequency smoothing (HF "llama3").
    case llama3(Llama3Parameters)
    /// No rotation; linear attention biases (Press et al., 2022).
    case alibi
    /// CLEX: frequencies from a learned neural ODE over the length factor t.
    case clex(CLEXParameters)

    /// The type name used in `rope_scaling` and on the command line.
    public var typeName: String {
        switch self {
        case .none: return "default"
        case .linear: return "linear"
        case .ntk: return "ntk"
        case .dynamic: return "dynamic"
        case .yarn: return "yarn"
        case .longRoPE: return "longrope"
        case .llama3: return "llama3"
        case .alibi: return "alibi"
        case .clex: return "clex"
        }
    }

    /// Whether queries and keys are rotated.
    public var usesRoPE: Bool { self != .alibi }
}

/// YaRN parameters (HF `_compute_yarn_parameters`; llama.cpp `rope_yarn`).
public struct YaRNParameters: Sendable, Equatable {
    /// s: the context extension factor (`factor`).
    public var factor: Double
    /// L0: the pre-extension window (`original_max_position_embeddings`).
    public var originalContextLength: Int
    /// Rotations per window above which a pair is left unscaled (`beta_fast`, default 32).
    public var betaFast: Double
    /// Rotations per window below which a pair is fully interpolated (`beta_slow`, default 1).
    public var betaSlow: Double
    /// DeepSeek's `mscale` (used with `mscaleAllDim` when both are non-zero).
    public var mscale: Double?
    /// DeepSeek's `mscale_all_dim`.
    public var mscaleAllDim: Double?
    /// An explicit attention factor (`attention_factor`), replacing the mscale rule.
    public var attentionFactor: Double?
    /// Whether the correction range is rounded outwards to whole pairs (`truncate`, default true).
    public var truncate: Bool
    /// llama.cpp's `ext_factor` (`--yarn-ext-factor`): weight of the ramp, 1 = HF's YaRN; 0 = PI
    /// on every pair (and no mscale, as in ggml's `rope_yarn`).
    public var extrapolationMix: Double
    /// llama.cpp's `attn_factor` (`--yarn-attn-factor`): multiplies the attention factor.
    public var attentionScale: Double

    /// YaRN with HF's defaults for everything not given.
    public init(factor: Double, originalContextLength: Int, betaFast: Double = 32, betaSlow: Double = 1,
                mscale: Double? = nil, mscaleAllDim: Double? = nil, attentionFactor: Double? = nil,
                truncate: Bool = true, extrapolationMix: Double = 1, attentionScale: Double = 1) {
        self.factor = factor
        self.originalContextLength = originalContextLength
        self.betaFast = betaFast
        self.betaSlow = betaSlow
        self.mscale = mscale
        self.mscaleAllDim = mscaleAllDim
        self.attentionFactor = attentionFactor
        self.truncate = truncate
        self.extrapolationMix = extrapolationMix
        self.attentionScale = attentionScale
    }

    /// HF's `get_mscale`: 1 for s ≤ 1, else 0.1·m·ln s + 1.
    public static func mscale(_ s: Double, _ m: Double = 1) -> Double {
        s <= 1 ? 1 : 0.1 * m * Foundation.log(s) + 1
    }

    /// The factor on cos and sin: `attention_factor` if given, else
    /// mscale(s, mscale)/mscale(s, mscale_all_dim) when both are non-zero, else mscale(s); times
    /// llama.cpp's `attentionScale`. With `extrapolationMix` = 0 ggml applies no mscale.
    public var resolvedAttentionFactor: Double {
        let base: Double
        if let attentionFactor {
            base = attentionFactor
        } else if extrapolationMix == 0 {
            base = 1
        } else if let m = mscale, let all = mscaleAllDim, m != 0, all != 0 {
            base = Self.mscale(factor, m) / Self.mscale(factor, all)
        } else {
            base = Self.mscale(factor)
        }
        return base * attentionScale
    }
}

/// LongRoPE parameters (HF `_compute_longrope_parameters`).
public struct LongRoPEParameters: Sendable, Equatable {
    /// Per-pair divisors of θ_j while the context holds at most L0 tokens (`short_factor`, d/2).
    public var shortFactor: [Double]
    /// Per-pair divisors once the context holds more than L0 tokens (`long_factor`, d/2).
    public var longFactor: [Double]
    /// L0 (`original_max_position_embeddings`): the switch point.
    public var originalContextLength: Int
    /// The extension factor: `factor` if given, else max_position_embeddings / L0 (HF).
    public var factor: Double
    /// An explicit attention factor (`attention_factor`).
    public var attentionFactor: Double?

    /// LongRoPE parameters (`factor` already resolved: given, or max_position_embeddings / L0).
    public init(shortFactor: [Double], longFactor: [Double], originalContextLength: Int, factor: Double,
                attentionFactor: Double? = nil) {
        self.shortFactor = shortFactor
        self.longFactor = longFactor
        self.originalContextLength = originalContextLength
        self.factor = factor
        self.attentionFactor = attentionFactor
    }

    /// `attention_factor` if given, else 1 for factor ≤ 1, else √(1 + ln factor / ln L0).
    public var resolvedAttentionFactor: Double {
        if let attentionFactor { return attentionFactor }
        if factor <= 1 { return 1 }
        return (1 + Foundation.log(factor) / Foundation.log(Double(originalContextLength))).squareRoot()
    }
}

/// Llama 3.1 parameters (HF `_compute_llama3_parameters`).
public struct Llama3Parameters: Sendable, Equatable {
    /// Divisor of the low frequencies (`factor`, 8 for Llama 3.1).
    public var factor: Double
    /// `low_freq_factor` (1 for Llama 3.1): wavelengths above L0/low are divided by `factor`.
    public var lowFrequencyFactor: Double
    /// `high_freq_factor` (4 for Llama 3.1): wavelengths below L0/high are kept.
    public var highFrequencyFactor: Double
    /// L0 (`original_max_position_embeddings`, 8192 for Llama 3.1).
    public var originalContextLength: Int

    /// Llama 3.1's defaults for the band factors.
    public init(factor: Double, lowFrequencyFactor: Double = 1, highFrequencyFactor: Double = 4,
                originalContextLength: Int) {
        self.factor = factor
        self.lowFrequencyFactor = lowFrequencyFactor
        self.highFrequencyFactor = highFrequencyFactor
        self.originalContextLength = originalContextLength
    }
}

/// The activation inside CLEX's ODE function (`act`).
public enum CLEXActivation: String, Sendable, Equatable, CaseIterable {
    /// tanh.
    case tanh
    /// x·σ(x).
    case silu
}

/// CLEX parameters (clex.md §5; the reference's `rope_scaling` keys plus this tool's runtime
/// options).
public struct CLEXParameters: Sendable, Equatable {
    /// T (`max_factor`): the largest length factor; the context may hold up to T·L tokens.
    public var maxFactor: Int
    /// λ (`param_factor`): the ODE's hidden width is λ·d.
    public var paramFactor: Int
    /// `act`.
    public var activation: CLEXActivation
    /// h (`time_dt`): the RK4 step.
    public var timeStep: Double
    /// `log_scale` (a top-level config key): queries × ln N / ln L.
    public var logScale: Bool
    /// t = max(1, N/L) instead of ⌈N/L⌉ at inference (`--clex-continuous`).
    public var continuous: Bool
    /// Past T·L tokens, continue at t = T instead of refusing (`--clex-hold-at-max`).
    public var holdAtMax: Bool

    /// The largest T accepted (the paper trains with T ≤ 64).
    public static let maximumMaxFactor = 65_536
    /// The most weights U (d/2 × λd) may hold, and so D (2^22: 16 MiB of Float32 each; d = 128
    /// with λ = 1 takes 8,192).
    public static let maximumODEWeights = 1 << 22
    /// The most RK4 steps of one solve, (T − 1) / h (T = 64 with h = 0.01 takes 6,300).
    public static let maximumSteps = 1_000_000
    /// The most values a solve keeps: every node's state, (steps + 1) × d/2 (2^24: 128 MiB).
    public static let maximumTrajectoryValues = 1 << 24

    /// CLEX parameters; the defaults are the reference's common choices (λ = 1, tanh, h = 0.01).
    public init(maxFactor: Int, paramFactor: Int = 1, activation: CLEXActivation = .tanh, timeStep: Double = 0.01,
                logScale: Bool = false, continuous: Bool = false, holdAtMax: Bool = false) {
        self.maxFactor = maxFactor
        self.paramFactor = paramFactor
        self.activation = activation
        self.timeStep = timeStep
        self.logScale = logScale
        self.continuous = continuous
        self.holdAtMax = holdAtMax
    }
}

/// Identities of the configurable values, so that one set of rules names the offending key in
/// the vocabulary of whichever front end supplied it (config.json, GGUF, command line).
public enum PositionalKey: Sendable, Equatable {
    case base, rotaryDimension, contextLength, factor, originalContextLength
    case betaFast, betaSlow, mscale, mscaleAllDim, attentionFactor, extrapolationMix, attentionScale
    case shortFactor, longFactor, lowFrequencyFactor, highFrequencyFactor
    case maxFactor, paramFactor, timeStep

    /// The HF config.json name; rope-scaling members get `prefix` ("rope_scaling.").
    public func hfName(prefix: String) -> String {
        switch self {
        case .base: return "rope_theta"
        case .rotaryDimension: return "head_dim"
        case .contextLength: return "max_position_embeddings"
        case .factor: return prefix + "factor"
        case .originalContextLength: return prefix + "original_max_position_embeddings"
        case .betaFast: return prefix + "beta_fast"
        case .betaSlow: return prefix + "beta_slow"
        case .mscale: return prefix + "mscale"
        case .mscaleAllDim: return prefix + "mscale_all_dim"
        case .attentionFactor: return prefix + "attention_factor"
        case .extrapolationMix: return "--yarn-ext-factor"
        case .attentionScale: return "--yarn-attn-factor"
        case .shortFactor: return prefix + "short_factor"
        case .longFactor: return prefix + "long_factor"
        case .lowFrequencyFactor: return prefix + "low_freq_factor"
        case .highFrequencyFactor: return prefix + "high_freq_factor"
        case .maxFactor: return prefix + "max_factor"
        case .paramFactor: return prefix + "param_factor"
        case .timeStep: return prefix + "time_dt"
        }
    }
}

extension PositionalConfiguration {
    /// The value rules, stated once for every front end (HF's `rope_config_validation` checks
    /// made errors, plus finiteness and the ranges the formulas need). `name` turns a value's
    /// identity into the key the user wrote; errors are `ConfigurationError`s naming it.
    public func validate(source: String, name: (PositionalKey) -> String) throws {
        func fail(_ key: PositionalKey, _ problem: String) -> ConfigurationError {
            ConfigurationError(source: source, key: name(key), problem: problem)
        }
        func finite(_ v: Double, _ key: PositionalKey) throws {
            guard v.isFinite else { throw fail(key, "expected a finite number, found \(v)") }
        }
        func atLeastOne(_ v: Double, _ key: PositionalKey) throws {
            try finite(v, key)
            guard v >= 1 else { throw fail(key, "expected a number ≥ 1, found \(v)") }
        }
        func positive(_ v: Double, _ key: PositionalKey) throws {
            try finite(v, key)
            guard v > 0 else { throw fail(key, "expected a number > 0, found \(v)") }
        }
        func positiveInt(_ v: Int, _ key: PositionalKey) throws {
            guard v >= 1 else { throw fail(key, "expected a positive integer, found \(v)") }
        }
        try finite(base, .base)
        guard base > 1 else { throw fail(.base, "expected a number > 1, found \(base)") }
        guard rotaryDimension >= 2, rotaryDimension % 2 == 0 else {
            throw fail(.rotaryDimension, "the rotary dimension must be even and at least 2, found \(rotaryDimension)")
        }
        try positiveInt(contextLength, .contextLength)
        let pairs = rotaryDimension / 2
        switch scheme {
        case .none, .alibi:
            break
        case .linear(let s):
            try atLeastOne(s, .factor)
        case .ntk(let s), .dynamic(let s):
            try atLeastOne(s, .factor)
            guard rotaryDimension > 2 else {
                throw fail(.rotaryDimension, "NTK scaling needs a rotary dimension above 2 (d/(d−2)), found \(rotaryDimension)")
            }
        case .yarn(let y):
            try atLeastOne(y.factor, .factor)
            try positiveInt(y.originalContextLength, .originalContextLength)
            try positive(y.betaFast, .betaFast)
            try positive(y.betaSlow, .betaSlow)
            guard y.betaFast >= y.betaSlow else {
                throw fail(.betaFast, "must not be below beta_slow (\(y.betaSlow)), found \(y.betaFast)")
            }
            for (v, key) in [(y.mscale, PositionalKey.mscale), (y.mscaleAllDim, .mscaleAllDim)] {
                if let v {
                    try finite(v, key)
                    guard v >= 0 else { throw fail(key, "expected a number ≥ 0, found \(v)") }
                }
            }
            if let a = y.attentionFactor { try positive(a, .attentionFactor) }
            try finite(y.extrapolationMix, .extrapolationMix)
            guard (0...1).contains(y.extrapolationMix) else {
                throw fail(.extrapolationMix, "expected a number in [0, 1], found \(y.extrapolationMix)")
            }
            try positive(y.attentionScale, .attentionScale)
        case .longRoPE(let p):
            for (list, key) in [(p.shortFactor, PositionalKey.shortFactor), (p.longFactor, .longFactor)] {
                guard list.count == pairs else {
                    throw fail(key, "expected \(pairs) numbers (rotary dimension \(rotaryDimension) / 2), found \(list.count)")
                }
                for (i, v) in list.enumerated() where !(v.isFinite && v > 0) {
                    throw ConfigurationError(source: source, key: "\(name(key))[\(i)]",
                                             problem: "expected a finite number > 0, found \(v)")
                }
            }
            try positiveInt(p.originalContextLength, .originalContextLength)
            try atLeastOne(p.factor, .factor)
            if let a = p.attentionFactor { try positive(a, .attentionFactor) }
        case .llama3(let p):
            try atLeastOne(p.factor, .factor)
            try positive(p.lowFrequencyFactor, .lowFrequencyFactor)
            try positive(p.highFrequencyFactor, .highFrequencyFactor)
            guard p.highFrequencyFactor > p.lowFrequencyFactor else {
                throw fail(.highFrequencyFactor,
                           "must be greater than low_freq_factor (\(p.lowFrequencyFactor)), found \(p.highFrequencyFactor)")
            }
            try positiveInt(p.originalContextLength, .originalContextLength)
        case .clex(let p):
            try positiveInt(p.maxFactor, .maxFactor)
            try positiveInt(p.paramFactor, .paramFactor)
            try positive(p.timeStep, .timeStep)
            guard rotaryDimension > 2 else {
                throw fail(.rotaryDimension, "CLEX needs a rotary dimension above 2 (d−2 divides), found \(rotaryDimension)")
            }
            // Limits of this implementation (CLEXParameters documents them): they bound the
            // memory and time a configuration can ask for before anything is allocated.
            guard p.maxFactor <= CLEXParameters.maximumMaxFactor else {
                throw fail(.maxFactor, "expected at most \(CLEXParameters.maximumMaxFactor), found \(p.maxFactor)")
            }
            let pairs = Double(rotaryDimension / 2)
            let weights = pairs * Double(rotaryDimension) * Double(p.paramFactor)
            guard weights <= Double(CLEXParameters.maximumODEWeights) else {
                let shown = weights < 9e18 ? "\(Int(weights))" : "\(weights)"
                throw fail(.paramFactor, "the ODE's U and D would hold \(shown) weights each (d/2 × λd, d = \(rotaryDimension)), "
                           + "more than the \(CLEXParameters.maximumODEWeights) this tool supports; found \(p.paramFactor)")
            }
            let steps = (Double(p.maxFactor) - 1) / p.timeStep
            guard steps <= Double(CLEXParameters.maximumSteps) else {
                throw fail(.timeStep, "(max_factor − 1) / time_dt = \(steps.rounded(.up)) RK4 steps, more than the "
                           + "\(CLEXParameters.maximumSteps) this tool supports; found \(p.timeStep)")
            }
            guard (steps + 2) * pairs <= Double(CLEXParameters.maximumTrajectoryValues) else {
                throw fail(.timeStep, "the solve would keep \(Int(steps) + 2) states of \(Int(pairs)) values, more than the "
                           + "\(CLEXParameters.maximumTrajectoryValues) values this tool supports; found \(p.timeStep)")
            }
        }
    }
}
