import CLEXTensor
import Foundation

/// What `clex rope` prints: the frequencies a positional method uses, per context length and,
/// for CLEX, θ(t) per length factor. Encodable as JSON (`JSONEncoder`).
public struct RopeTable: Codable, Sendable, Equatable {
    /// The rotation at one context length.
    public struct Context: Codable, Sendable, Equatable {
        /// Tokens in the context.
        public var contextLength: Int
        /// CLEX's t at this length (nil for other methods).
        public var lengthFactor: Double?
        /// θ_j, j = 0 … d/2−1 (nil for ALiBi).
        public var frequencies: [Double]?
        /// Factor on cos and sin.
        public var attentionFactor: Double
        /// Factor on the queries (CLEX log_scale).
        public var queryScale: Double
    }

    /// CLEX's θ at one length factor.
    public struct CLEXFrequencies: Codable, Sendable, Equatable {
        /// The length factor t ∈ [1, T].
        public var t: Double
        /// θ_j(t) = exp z_j(t).
        public var frequencies: [Double]
    }

    /// The scheme's type name ("default", "linear", …, "clex").
    public var method: String
    /// RoPE base b.
    public var base: Double
    /// Rotary dimension d.
    public var rotaryDimension: Int
    /// L.
    public var contextLength: Int
    /// ALiBi's slopes per head (nil for RoPE methods).
    public var alibiSlopes: [Double]?
    /// One entry per requested context length.
    public var contexts: [Context]
    /// CLEX only: θ(t) per requested t.
    public var clex: [CLEXFrequencies]?

    /// The table of `method` at `contextLengths` (default: L alone) and, for CLEX, at the length
    /// factors `lengthFactors` (each in [1, T]; for the other methods each t adds the context
    /// length ⌈t·L⌉). Throws `PositionalError` for a length the method cannot serve.
    public init(method: any PositionalMethod, contextLengths: [Int] = [], lengthFactors: [Double] = []) throws {
        let c = method.configuration
        self.method = c.scheme.typeName
        base = c.base
        rotaryDimension = c.rotaryDimension
        contextLength = c.contextLength
        alibiSlopes = method.alibiSlopes.map { $0.map(Double.init) }
        let clexMethod = method as? CLEXPositional
        var lengths = contextLengths.isEmpty && (clexMethod != nil || lengthFactors.isEmpty) ? [c.contextLength] : contextLengths
        if clexMethod == nil {
            lengths += lengthFactors.map { Int((Double(c.contextLength) * $0).rounded(.up)) }
        }
        for n in lengths where n < 1 {
            throw PositionalError("rope table: context length \(n) must be at least 1")
        }
        contexts = try lengths.map { n in
            let r = try method.inference(contextLength: n)
            return Context(contextLength: n, lengthFactor: try clexMethod?.lengthFactor(contextLength: n),
                           frequencies: r?.exactFrequencies, attentionFactor: Double(r?.attentionFactor ?? 1),
                           queryScale: Double(r?.queryScale ?? 1))
        }
        if let clexMethod {
            let T = Double(clexMethod.parameters.maxFactor)
            clex = try lengthFactors.map { t in
                guard t >= 1 && t <= T else {
                    throw PositionalError("rope table: CLEX length factor t = \(t) outside [1, \(clexMethod.parameters.maxFactor)]")
                }
                return CLEXFrequencies(t: t, frequencies: clexMethod.frequencies(at: t))
            }
        }
    }

    /// The table for `configuration` (see `init(method:…)`); CLEX uses `clexWeights` (checkpoint
    /// names → tensors, e.g. from a checkpoint) over freshly initialised ones (D = 0).
    public init(configuration: PositionalConfiguration, clexWeights: [String: Tensor] = [:],
                contextLengths: [Int] = [], lengthFactors: [Double] = []) throws {
        let method = try configuration.makeMethod()
        for (name, tensor) in clexWeights.sorted(by: { $0.key < $1.key }) {
            try method.setLearnedParameter(name, to: tensor)
        }
        try self.init(method: method, contextLengths: contextLengths, lengthFactors: lengthFactors)
    }
}
