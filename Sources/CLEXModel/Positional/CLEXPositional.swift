import CLEXTensor
import Foundation

/// The checkpoint names of CLEX's tensors (one module shared by every layer; clex.md §5). The
/// only place these strings are spelled.
public enum CLEXCheckpointNames {
    /// inv_freq [d/2] (may be stored in bf16: it is used as stored).
    public static let inverseFrequency = "model.clex_layer.inv_freq"
    /// U [d/2, λd].
    public static let up = "model.clex_layer.proj_func.ode_up_proj"
    /// D [λd, d/2].
    public static let down = "model.clex_layer.proj_func.ode_down_proj"
    /// All three.
    public static let all = [inverseFrequency, up, down]
}

/// CLEX (Chen et al., ICLR 2024; ../shared/spec/clex.md): RoPE whose frequency basis θ(t)
/// follows a learned ODE over the length factor t = context / L.
///
/// Inference: t = min(⌈N/L⌉, T) for a context of N tokens (or max(1, N/L) with `continuous`);
/// θ(t) comes from one ODE solve over [1, T] (`CLEXODE`, Float32 by default, Float64 on request)
/// computed on first use and kept until U, D or inv_freq change (their contents are compared on
/// every query, so in-place updates by an optimizer are seen too). t = 1 is plain RoPE with the
/// stored inv_freq, exactly. Past T·L tokens the reference crashes; here `inference` throws
/// unless `holdAtMax` is set, which continues at t = T.
///
/// Training: t uniform in {1 … T}, stretched positions (`trainingPositions`), and θ(t) from a
/// solve written with `Variable` ops so that gradients reach U and D through every RK4 step.
public final class CLEXPositional: PositionalMethod {
    /// The configuration (scheme `.clex`).
    public let configuration: PositionalConfiguration
    /// The CLEX parameters of `configuration`.
    public let parameters: CLEXParameters
    /// Arithmetic of the inference solve (Float32 like the reference).
    public var precision: CLEXPrecision = .float32
    /// h of the differentiable training solve (default: `time_dt`); a larger step makes the
    /// backward pass proportionally cheaper (clex.md §7).
    public var trainingTimeStep: Double
    /// Whether training places U and D on the tape as variables (gradients wanted).
    public var trainsODE = true
    /// Where the last training position lies (the spec's or the reference's formula).
    public var lastTrainingPosition = LastTrainingPosition.spec

    /// The last of the N stretched training positions, with s = max(⌊N/L⌋, 1).
    public enum LastTrainingPosition: String, Sendable {
        /// (N·t − 1)/s (clex.md §3): t = 1 is exactly position interpolation.
        case spec
        /// ⌊N·t/s⌋ − 1 (integer division), as the reference's `CLEXScalingRotaryEmbedding` has it.
        case reference
    }

    /// inv_freq [d/2]: θ(1), the ODE's initial value exp z(1).
    public private(set) var inverseFrequency: Tensor
    /// U [d/2, λd].
    public private(set) var up: Tensor
    /// D [λd, d/2].
    public private(set) var down: Tensor

    private struct Cached {
        let inverseFrequency: [Float], up: [Float], down: [Float]
        let precision: CLEXPrecision
        let trajectory: CLEXTrajectory
    }
    private var cached: Cached?

    /// Pairs d/2 and hidden width λd.
    private var half: Int { configuration.rotaryDimension / 2 }
    private var width: Int { parameters.paramFactor * configuration.rotaryDimension }

    /// CLEX for `configuration` (scheme `.clex`) with fresh weights: inv_freq = b^(−2j/d),
    /// U ~ Uniform(±1/√(λd)) (PyTorch's Kaiming-uniform with a = √5 on fan_in = λd, the
    /// reference's `reset_parameters`), D = 0, drawn from `seed`.
    public init(configuration: PositionalConfiguration, seed: UInt64 = 0) {
        guard case .clex(let p) = configuration.scheme else {
            fatalError("CLEXPositional: the configuration's scheme is \(configuration.scheme.typeName), not clex")
        }
        self.configuration = configuration
        parameters = p
        trainingTimeStep = p.timeStep
        let d = configuration.rotaryDimension
        let w = p.paramFactor * d
        inverseFrequency = positionalVector(RopeFrequencies.standard(base: configuration.base, dimension: d).map { Float($0) })
        var generator = SeededGenerator(seed: seed)
        let bound = Float(1 / Double(w).squareRoot())
        up = Tensor.randomUniform([d / 2, w], low: -bound, high: bound, generator: &generator)
        down = Tensor(zeros: [w, d / 2])
    }

    // MARK: Parameters

    /// inv_freq, U and D by checkpoint name (`CLEXCheckpointNames`).
    public var learnedParameters: [String: Tensor] {
        [CLEXCheckpointNames.inverseFrequency: inverseFrequency, CLEXCheckpointNames.up: up, CLEXCheckpointNames.down: down]
    }

    /// The expected shape of each checkpoint tensor.
    public var parameterShapes: [String: [Int]] {
        [CLEXCheckpointNames.inverseFrequency: [half], CLEXCheckpointNames.up: [half, width],
         CLEXCheckpointNames.down: [width, half]]
    }

    /// Replaces inv_freq, U or D (a copy is kept) after checking the name and the shape; inv_freq
    /// must be positive and finite (its log is the ODE's initial value).
    public func setLearnedParameter(_ name: String, to tensor: Tensor) throws {
        guard let shape = parameterShapes[name] else {
            throw ConfigurationError(source: "checkpoint", key: name,
                                     problem: "not a CLEX tensor (expected one of \(CLEXCheckpointNames.all.joined(separator: ", ")))")
        }
        guard tensor.shape == shape else {
            throw ConfigurationError(source: "checkpoint", key: name,
                                     problem: "expected shape \(shape) (d = \(configuration.rotaryDimension), λ = \(parameters.paramFactor)), found \(tensor.shape)")
        }
        if name == CLEXCheckpointNames.inverseFrequency {
            for v in tensor.scalars where !(v.isFinite && v > 0) {
                throw ConfigurationError(source: "checkpoint", key: name, problem: "expected positive finite frequencies, found \(v)")
            }
        }
        let copy = tensor.copy()
        switch name {
        case CLEXCheckpointNames.inverseFrequency: inverseFrequency = copy
        case CLEXCheckpointNames.up: up = copy
        default: down = copy
        }
        cached = nil
    }

    /// The ODE with the current U and D.
    public var ode: CLEXODE {
        CLEXODE(dimension: configuration.rotaryDimension, activation: parameters.activation,
                up: up.scalars.map { Double($0) }, down: down.scalars.map { Double($0) })
    }

    // MARK: Inference

    /// t for a context of n tokens: min(⌈n/L⌉, T) (continuous: min(max(1, n/L), T)). Throws past
    /// T·L tokens unless `holdAtMax`.
    public func lengthFactor(contextLength n: Int) throws -> Double {
        requireArgument(n >= 1, "CLEX: the context must hold at least one token, got \(n)")
        let (L, T) = (configuration.contextLength, parameters.maxFactor)
        if n > T * L && !parameters.holdAtMax {
            throw PositionalError("CLEX: the context holds \(n) tokens, more than max_factor × L = \(T) × \(L) = \(T * L) "
                + "that the model was trained to reach; shorten the input or continue at t = \(T) with --clex-hold-at-max")
        }
        if parameters.continuous { return min(max(1, Double(n) / Double(L)), Double(T)) }
        return Double(min((n + L - 1) / L, T))
    }

    /// θ(t) for 1 ≤ t ≤ T: the stored inv_freq at t = 1, else exp z(t) from the cached solve.
    public func frequencies(at t: Double) -> [Double] {
        requireArgument(t >= 1 && t <= Double(parameters.maxFactor), "CLEX: t = \(t) outside [1, \(parameters.maxFactor)]")
        if t == 1 { return inverseFrequency.scalars.map { Double($0) } }
        return trajectory().frequencies(at: t)
    }

    /// The solve over [1, T] for the current weights (recomputed when they changed).
    private func trajectory() -> CLEXTrajectory {
        let (inv, u, dn) = (inverseFrequency.scalars, up.scalars, down.scalars)
        if let c = cached, c.precision == precision, c.inverseFrequency == inv, c.up == u, c.down == dn {
            return c.trajectory
        }
        let z0 = inv.map { Foundation.log(Double($0)) }
        let solved = ode.trajectory(from: z0, to: Double(parameters.maxFactor), step: parameters.timeStep, precision: precision)
        cached = Cached(inverseFrequency: inv, up: u, down: dn, precision: precision, trajectory: solved)
        return solved
    }

    /// θ(t) for t = `lengthFactor(contextLength: n)`, attention factor 1, and the query scale
    /// ln n / ln L when `log_scale` is on.
    public func inference(contextLength n: Int) throws -> RotaryParameters? {
        let t = try lengthFactor(contextLength: n)
        let queryScale = parameters.logScale
            ? Foundation.log(Double(n)) / Foundation.log(Double(configuration.contextLength)) : 1
        return RotaryParameters(frequencies: frequencies(at: t), queryScale: queryScale)
    }

    /// ⌈n/L⌉·L + 1 (the next multiple of L, plus one) below T·L; every length past L when
    /// continuous; nil from T·L on (t stays T or the context is refused).
    public func nextRotationChange(after n: Int) -> Int? {
        let (L, T) = (configuration.contextLength, parameters.maxFactor)
        if n >= T * L { return nil }
        if parameters.continuous { return n < L ? L + 1 : n + 1 }
        let t = max((n + L - 1) / L, 1)
        return t * L + 1
    }

    // MARK: Training

    /// clex.md §3: with s = max(⌊N/L⌋, 1), N − 2 distinct integers drawn from {0 … N·t−3}
    /// without replacement, sorted, plus 1; positions [0] ++ those ++ [N·t − 1], all divided by s.
    /// t = 1 gives (0 … N−1)/s: position interpolation. With `last: .reference` the last position
    /// is ⌊N·t/s⌋ − 1, which differs from (N·t − 1)/s by 1 − 1/s when s > 1 (when s divides N·t).
    public static func trainingPositions(sequenceLength n: Int, lengthFactor t: Int, window L: Int,
                                         last: LastTrainingPosition = .spec,
                                         generator: inout SeededGenerator) -> [Float] {
        requireArgument(n >= 1 && t >= 1 && L >= 1, "trainingPositions: need N, t, L ≥ 1 (got \(n), \(t), \(L))")
        let s = Double(max(n / L, 1))
        if n == 1 { return [0] }
        let candidates = n * t - 2, wanted = n - 2
        var middle: [Int]
        if wanted == candidates {
            middle = Array(0..<candidates)
        } else {
            // Floyd's algorithm: a uniform `wanted`-subset of 0..<candidates in `wanted` draws.
            var chosen = Set<Int>(minimumCapacity: wanted)
            for j in (candidates - wanted)..<candidates {
                let r = Int.random(in: 0...j, using: &generator)
                chosen.insert(chosen.contains(r) ? j : r)
            }
            middle = chosen.sorted()
        }
        var positions = [Float](repeating: 0, count: n)
        for (i, v) in middle.enumerated() { positions[i + 1] = Float(Double(v + 1) / s) }
        switch last {
        case .spec: positions[n - 1] = Float(Double(n * t - 1) / s)
        case .reference: positions[n - 1] = Float(n * t / Int(s) - 1)
        }
        return positions
    }

    /// clex.md §3: t uniform in {1 … T} (one draw per call), the stretched positions, θ(t) from
    /// the differentiable solve (the stored inv_freq, a constant, at t = 1), U and D placed on
    /// the tape (variables when `trainsODE`) and returned by checkpoint name; query scale
    /// ln N / ln L with `log_scale` (as the reference applies it in training).
    public func training(sequenceLength: Int, tape: Tape, generator: inout SeededGenerator) throws -> PositionalTrainingInputs {
        requireArgument(sequenceLength >= 1, "training: sequence length must be positive, got \(sequenceLength)")
        let t = Int.random(in: 1...parameters.maxFactor, using: &generator)
        let positions = Self.trainingPositions(sequenceLength: sequenceLength, lengthFactor: t,
                                               window: configuration.contextLength, last: lastTrainingPosition,
                                               generator: &generator)
        let u = trainsODE ? tape.variable(up) : tape.constant(up)
        let d = trainsODE ? tape.variable(down) : tape.constant(down)
        let theta = t == 1 ? tape.constant(inverseFrequency)
            : differentiableFrequencies(at: Double(t), step: trainingTimeStep, up: u, down: d)
        let queryScale = parameters.logScale
            ? Float(Foundation.log(Double(sequenceLength)) / Foundation.log(Double(configuration.contextLength))) : 1
        return PositionalTrainingInputs(
            inputs: PositionInputs(positions: positions, rotary: PositionInputs.Rotary(frequencies: theta),
                                   queryScale: queryScale),
            lengthFactor: t,
            parameters: [CLEXCheckpointNames.up: u, CLEXCheckpointNames.down: d])
    }

    /// θ(t) = exp z(t) [d/2] solved on [1, t] with step h by RK4 (the same 3/8 rule and grid as
    /// `CLEXODE`) written with `Variable` ops (matmul, tanh/silu, +, −, scaled, exp), so the
    /// tape back-propagates through every step into `up` (U [d/2, λd]) and `down` (D [λd, d/2]),
    /// which must live on one tape. z(1) = log inv_freq is a constant.
    public func differentiableFrequencies(at t: Double, step h: Double, up u: Variable, down d: Variable) -> Variable {
        requireArgument(t >= 1, "differentiableFrequencies: t = \(t) must be ≥ 1")
        requireArgument(u.shape == [half, width] && d.shape == [width, half],
                        "differentiableFrequencies: U \(u.shape) and D \(d.shape) must be [\(half), \(width)] and [\(width), \(half)]")
        let tape = u.tape
        let dim = configuration.rotaryDimension
        let activation = parameters.activation
        func constant(_ values: [Double], _ shape: [Int]) -> Variable {
            tape.constant(positionalVector(values.map { Float($0) }).reshaped(shape))
        }
        func f(_ time: Double, _ y: Variable) -> Variable {
            let (logNTK, drift) = CLEXODE.timeEmbedding(t: time, dimension: dim)
            let hidden = (y + constant(logNTK, [1, half])).matmul(u)
            let activated = activation == .tanh ? hidden.tanh() : hidden.silu()
            return activated.matmul(d) + constant(drift, [half])
        }
        var y = constant(inverseFrequency.scalars.map { Foundation.log(Double($0)) }, [1, half])
        let times = CLEXODE.grid(from: 1, to: t, step: h)
        for (t0, t1) in zip(times, times.dropFirst()) {
            let dt = Float(t1 - t0)
            let k1 = f(t0, y)
            let k2 = f(t0 + Double(dt) / 3, y + k1.scaled(by: dt / 3))
            let k3 = f(t0 + Double(dt) * 2 / 3, y + (k2 - k1.scaled(by: 1 / 3)).scaled(by: dt))
            let k4 = f(t1, y + (k1 - k2 + k3).scaled(by: dt))
            y = y + (k1 + (k2 + k3).scaled(by: 3) + k4).scaled(by: dt * 0.125)
        }
        return y.reshaped([half]).exp()
    }
}
