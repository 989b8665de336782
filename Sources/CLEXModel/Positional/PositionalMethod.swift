import CLEXTensor
import Foundation

/// The rotation a RoPE method applies for one state of the context: what attention needs at
/// inference.
public struct RotaryParameters: Equatable, Sendable {
    /// Inverse frequency θ_j of each rotated pair j = 0 … r/2−1, as computed (Double, or the
    /// Float32 ODE solve of CLEX widened to Double).
    public var exactFrequencies: [Double]
    /// The same frequencies rounded once to Float: what the kernels consume.
    public var frequencies: [Float]
    /// Factor on both cos and sin (YaRN's mscale, LongRoPE's attention factor); attention logits
    /// scale by its square.
    public var attentionFactor: Float
    /// Multiplier of the queries: CLEX's optional log_scale ln N / ln L; 1 otherwise.
    public var queryScale: Float

    /// Parameters from Double frequencies (rounded once to Float).
    public init(frequencies: [Double], attentionFactor: Double = 1, queryScale: Double = 1) {
        exactFrequencies = frequencies
        self.frequencies = frequencies.map { Float($0) }
        self.attentionFactor = Float(attentionFactor)
        self.queryScale = Float(queryScale)
    }

    /// The frequencies as a tensor [r/2].
    public var frequencyTensor: Tensor { positionalVector(frequencies) }
}

/// One training batch's placement of tokens, from `PositionalMethod.training`.
public struct PositionalTrainingInputs {
    /// Positions, rotation (a `Variable`: CLEX's frequencies carry gradients into U and D),
    /// ALiBi slopes and query scale for the model's forward.
    public var inputs: PositionInputs
    /// CLEX's drawn length factor t (1 for every other method).
    public var lengthFactor: Int
    /// The method's learned parameters as placed on the tape, by checkpoint name (CLEX: U and
    /// D as tape variables); empty for methods without parameters. Read their gradients with
    /// `tape.gradient(_:)` after the backward pass.
    public var parameters: [String: Variable]
}

/// A context the positional method cannot serve.
public struct PositionalError: Error, CustomStringConvertible, Equatable {
    /// What went wrong and what to do about it.
    public let message: String

    /// An error saying `message`.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}

/// How a model places tokens: the one interface between the model (and its KV cache, trainer,
/// tools) and a positional method. The model never looks at which method it runs; adding a
/// method means adding a conforming type (and its configuration case), nothing in the model.
///
/// Every query is stated in terms of the context length n: the number of tokens the context
/// holds in total (cached + new) when the attention of a step runs. Methods whose rotation
/// depends on n (dynamic NTK, LongRoPE, CLEX) say where it changes (`nextRotationChange`), so
/// that a caller can split a prefill exactly there (see `rotationSegments`); a KV cache that
/// rotates keys as they are read gives every cached key the new rotation at no cost.
public protocol PositionalMethod: AnyObject {
    /// The configuration the method was made from.
    var configuration: PositionalConfiguration { get }

    /// The rotation for a context holding `n` ≥ 1 tokens, or nil for a method without RoPE
    /// (ALiBi). Throws `PositionalError` for a length the method cannot serve (CLEX past T·L
    /// unless the user opted into holding t at T).
    func inference(contextLength n: Int) throws -> RotaryParameters?

    /// The smallest context length m > n whose rotation differs from that of n, or nil when the
    /// rotation never changes again (static methods: always nil).
    func nextRotationChange(after n: Int) -> Int?

    /// Positions and rotation for one training forward of `sequenceLength` tokens per sequence
    /// (shared by the batch and every layer). Draws from `generator` where the method is
    /// random (CLEX: t and the stretched positions of clex.md §3).
    func training(sequenceLength: Int, tape: Tape, generator: inout SeededGenerator) throws -> PositionalTrainingInputs

    /// The learned parameters by checkpoint name (CLEX: U, D and inv_freq); empty otherwise.
    var learnedParameters: [String: Tensor] { get }

    /// Replaces the learned parameter `name` (a checkpoint name from `learnedParameters`).
    /// Throws `ConfigurationError` for an unknown name or a shape that does not fit.
    func setLearnedParameter(_ name: String, to tensor: Tensor) throws
}

extension PositionalMethod {
    /// Whether the method rotates queries and keys (false for ALiBi).
    public var usesRoPE: Bool { configuration.scheme.usesRoPE }

    /// ALiBi slopes per query head (`Ops.alibiSlopes`), or nil for RoPE methods.
    public var alibiSlopes: [Float]? {
        configuration.scheme == .alibi ? Ops.alibiSlopes(heads: configuration.headCount) : nil
    }

    /// Whether the rotation differs anywhere between context lengths `a` and `b` (a < b): then
    /// cached keys take another rotation when attended at length `b` than at `a`.
    public func changesRotation(from a: Int, to b: Int) -> Bool {
        guard let next = nextRotationChange(after: a) else { return false }
        return next <= b
    }

    /// Splits the new tokens of a step, which grow the context from `cached` to `total` tokens,
    /// into chunks inside which the rotation does not change. Returns the context length at the
    /// end of each chunk, ascending, the last one `total`. Processing each chunk with
    /// `inference(contextLength: end)` (every cached key read with that chunk's rotation)
    /// gives every token the rotation of the context up to and including itself, exactly as
    /// feeding the tokens one at a time would. Static methods give one chunk; CLEX splits at
    /// multiples of L; dynamic NTK splits at every length past L; LongRoPE at L0.
    public func rotationSegments(cached: Int, total: Int) -> [Int] {
        requireArgument(cached >= 0 && total >= cached, "rotationSegments: need 0 ≤ cached (\(cached)) ≤ total (\(total))")
        var ends: [Int] = []
        var start = cached + 1
        while start <= total {
            let end = nextRotationChange(after: start).map { min($0 - 1, total) } ?? total
            ends.append(end)
            start = end + 1
        }
        return ends
    }

    /// Position inputs for an inference forward whose new tokens sit at `positions`, in a
    /// context of `contextLength` tokens in total (constants on `tape`).
    public func inferenceInputs(positions: [Float], contextLength: Int, tape: Tape) throws -> PositionInputs {
        let rotary = try inference(contextLength: contextLength)
        return PositionInputs(
            positions: positions,
            rotary: rotary.map { PositionInputs.Rotary(frequencies: tape.constant($0.frequencyTensor),
                                                       attentionFactor: $0.attentionFactor) },
            alibiSlopes: alibiSlopes,
            queryScale: rotary?.queryScale ?? 1)
    }
}

/// A [n] tensor holding `values`.
func positionalVector(_ values: [Float]) -> Tensor {
    let t = Tensor(zeros: [values.count])
    for (i, v) in values.enumerated() { t.pointer[i] = v }
    return t
}
