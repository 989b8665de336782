import CLEXTensor
import Foundation

/// The inverse frequencies of the fixed RoPE methods, in Double, as pure functions of their
/// parameters. Sources: HF transformers `modeling_rope_utils.py` (`_compute_default_rope_parameters`,
/// `_compute_linear_scaling_rope_parameters`, `_compute_dynamic_ntk_parameters`,
/// `_compute_yarn_parameters`, `_compute_longrope_parameters`, `_compute_llama3_parameters`),
/// ggml's `rope_yarn` for llama.cpp's `ext_factor`, and ../shared/spec/rope-scaling.md. HF
/// evaluates these in float32; here they are exact to Double and rounded once to Float for the
/// kernels (`RotaryParameters`).
public enum RopeFrequencies {
    /// θ_j = 1 / b^(2j/d), j = 0 … d/2−1 (HF "default").
    public static func standard(base b: Double, dimension d: Int) -> [Double] {
        (0..<(d / 2)).map { 1 / pow(b, Double(2 * $0) / Double(d)) }
    }

    /// Position interpolation: θ_j / s (HF "linear"; dividing the frequencies equals dividing
    /// the positions).
    public static func linear(base b: Double, dimension d: Int, factor s: Double) -> [Double] {
        standard(base: b, dimension: d).map { $0 / s }
    }

    /// The NTK-aware base b·α^(d/(d−2)) (static NTK with factor α).
    public static func ntkBase(base b: Double, dimension d: Int, factor alpha: Double) -> Double {
        b * pow(alpha, Double(d) / Double(d - 2))
    }

    /// HF dynamic NTK's base for a context of n tokens: with n' = max(n, L),
    /// b' = b·((s·n'/L) − (s−1))^(d/(d−2)); equals b for n ≤ L.
    public static func dynamicNTKBase(base b: Double, dimension d: Int, factor s: Double, contextLength L: Int,
                                      sequenceLength n: Int) -> Double {
        let len = Double(max(n, L))
        return b * pow(s * len / Double(L) - (s - 1), Double(d) / Double(d - 2))
    }

    /// YaRN's correction range (HF `find_correction_range`): the pair indices between which
    /// the ramp runs. corr(r) = d·ln(L0/(2π·r)) / (2·ln b); low = corr(beta_fast),
    /// high = corr(beta_slow), rounded outwards when `truncate`, clamped to [0, d−1].
    public static func yarnCorrectionRange(base b: Double, dimension d: Int, parameters y: YaRNParameters)
        -> (low: Double, high: Double) {
        func corr(_ rotations: Double) -> Double {
            Double(d) * Foundation.log(Double(y.originalContextLength) / (rotations * 2 * Double.pi)) / (2 * Foundation.log(b))
        }
        var low = corr(y.betaFast), high = corr(y.betaSlow)
        if y.truncate {
            low = low.rounded(.down)
            high = high.rounded(.up)
        }
        return (max(low, 0), min(high, Double(d - 1)))
    }

    /// YaRN frequencies, as HF writes them: inv_j = (θ_j/s)·(1 − e_j) + θ_j·e_j with the
    /// extrapolation weight
    /// e_j = (1 − ramp_j)·extrapolationMix, ramp_j = clamp((j − low)/(high − low), 0, 1) and
    /// high += 0.001 when low == high (HF `linear_ramp_factor`). extrapolationMix = 1 is HF.
    public static func yarn(base b: Double, dimension d: Int, parameters y: YaRNParameters) -> [Double] {
        let (low, rawHigh) = yarnCorrectionRange(base: b, dimension: d, parameters: y)
        let high = low == rawHigh ? rawHigh + 0.001 : rawHigh
        return standard(base: b, dimension: d).enumerated().map { j, theta in
            let ramp = min(max((Double(j) - low) / (high - low), 0), 1)
            let extrapolation = (1 - ramp) * y.extrapolationMix
            return (theta / y.factor) * (1 - extrapolation) + theta * extrapolation
        }
    }

    /// LongRoPE: θ_j / ext_j with ext = `factors` (short or long list).
    public static func longRoPE(base b: Double, dimension d: Int, factors: [Double]) -> [Double] {
        zip(standard(base: b, dimension: d), factors).map { $0 / $1 }
    }

    /// Llama 3.1: with wavelength w_j = 2π/θ_j, w > L0/low: θ/factor; w < L0/high: θ; between:
    /// (1 − σ)·θ/factor + σ·θ with σ = (L0/w − low)/(high − low).
    public static func llama3(base b: Double, dimension d: Int, parameters p: Llama3Parameters) -> [Double] {
        let l0 = Double(p.originalContextLength)
        let lowWavelength = l0 / p.lowFrequencyFactor, highWavelength = l0 / p.highFrequencyFactor
        return standard(base: b, dimension: d).map { theta in
            let wavelength = 2 * Double.pi / theta
            if wavelength > lowWavelength { return theta / p.factor }
            if wavelength < highWavelength { return theta }
            let smooth = (l0 / wavelength - p.lowFrequencyFactor) / (p.highFrequencyFactor - p.lowFrequencyFactor)
            return (1 - smooth) * theta / p.factor + smooth * theta
        }
    }

    /// The rotation of a fixed (non-learned) RoPE scheme for a context of n tokens; nil for
    /// ALiBi. CLEX is not fixed: see `CLEXPositional`.
    static func rotation(_ c: PositionalConfiguration, contextLength n: Int) -> RotaryParameters? {
        let (b, d) = (c.base, c.rotaryDimension)
        switch c.scheme {
        case .none:
            return RotaryParameters(frequencies: standard(base: b, dimension: d))
        case .linear(let s):
            return RotaryParameters(frequencies: linear(base: b, dimension: d, factor: s))
        case .ntk(let alpha):
            return RotaryParameters(frequencies: standard(base: ntkBase(base: b, dimension: d, factor: alpha), dimension: d))
        case .dynamic(let s):
            let base = dynamicNTKBase(base: b, dimension: d, factor: s, contextLength: c.contextLength, sequenceLength: n)
            return RotaryParameters(frequencies: standard(base: base, dimension: d))
        case .yarn(let y):
            return RotaryParameters(frequencies: yarn(base: b, dimension: d, parameters: y),
                                    attentionFactor: y.resolvedAttentionFactor)
        case .longRoPE(let p):
            let factors = n > p.originalContextLength ? p.longFactor : p.shortFactor
            return RotaryParameters(frequencies: longRoPE(base: b, dimension: d, factors: factors),
                                    attentionFactor: p.resolvedAttentionFactor)
        case .llama3(let p):
            return RotaryParameters(frequencies: llama3(base: b, dimension: d, parameters: p))
        case .alibi, .clex:
            return nil
        }
    }
}

/// Every positional method without learned parameters: plain RoPE, PI, static and dynamic NTK,
/// YaRN, LongRoPE, llama3 (frequencies from `RopeFrequencies`) and ALiBi (no rotation).
public final class FixedPositional: PositionalMethod {
    /// The configuration (any scheme but CLEX).
    public let configuration: PositionalConfiguration

    /// The method of `configuration` (any scheme but CLEX).
    public init(configuration: PositionalConfiguration) {
        if case .clex = configuration.scheme { fatalError("FixedPositional: CLEX has learned parameters; use CLEXPositional") }
        self.configuration = configuration
    }

    /// `RopeFrequencies`' rotation for a context of n tokens (nil for ALiBi); never throws.
    public func inference(contextLength n: Int) throws -> RotaryParameters? {
        requireArgument(n >= 1, "inference: the context must hold at least one token, got \(n)")
        return RopeFrequencies.rotation(configuration, contextLength: n)
    }

    /// Dynamic NTK: L + 1 up to L, then every length; LongRoPE: L0 + 1 up to L0; others: nil.
    public func nextRotationChange(after n: Int) -> Int? {
        switch configuration.scheme {
        case .dynamic:
            // HF: n' = max(n, L), so every length up to L shares the default rotation and every
            // length past L has its own base.
            return n < configuration.contextLength ? configuration.contextLength + 1 : n + 1
        case .longRoPE(let p):
            // Short factors up to L0 tokens, long factors past it (HF `longrope_frequency_update`).
            return n <= p.originalContextLength ? p.originalContextLength + 1 : nil
        default:
            return nil
        }
    }

    /// Positions 0 … N−1 and the rotation of a context of N tokens, as constants.
    public func training(sequenceLength: Int, tape: Tape, generator: inout SeededGenerator) throws -> PositionalTrainingInputs {
        requireArgument(sequenceLength >= 1, "training: sequence length must be positive, got \(sequenceLength)")
        let positions = (0..<sequenceLength).map { Float($0) }
        return PositionalTrainingInputs(
            inputs: try inferenceInputs(positions: positions, contextLength: sequenceLength, tape: tape),
            lengthFactor: 1, parameters: [:])
    }

    /// None.
    public var learnedParameters: [String: Tensor] { [:] }

    /// Always throws: there is nothing to set.
    public func setLearnedParameter(_ name: String, to tensor: Tensor) throws {
        throw ConfigurationError(source: "checkpoint", key: name,
                                 problem: "the \(configuration.scheme.typeName) positional method has no learned parameters")
    }
}
