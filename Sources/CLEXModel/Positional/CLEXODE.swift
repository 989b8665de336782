import CLEXTensor
import Foundation

/// Arithmetic of the ODE function in CLEX's forward solve (no gradients): Float32 like the
/// reference, or Float64. The state is accumulated in Double either way (see `CLEXODE`).
public enum CLEXPrecision: Sendable, Equatable {
    /// The ODE function in Float32 (the reference's arithmetic; the default).
    case float32
    /// The ODE function in Float64.
    case float64
}

/// CLEX's ODE in z(t) = log θ(t) (../shared/spec/clex.md §2; the reference is `ODELinear` in
/// DAMO-NLP-SG/CLEX `CLEX/clex_layer.py`):
///
///     α(t) = 2t − 1
///     log θ_NTK(t)_j = −(2j/d)·ln 10000 − (2j/(d−2))·ln α        (base fixed at 10000)
///     ξ(t)_j = −4j / ((d − 2)·α)                                 (= d/dt log θ_NTK(t)_j)
///     dz/dt = act((z + log θ_NTK(t))·U)·D + ξ(t)
///
/// with U [d/2, λd] and D [λd, d/2] multiplying a row vector (not transposed like a Linear
/// weight). The reference forms ξ as `delta_ntk_freq / ntk_inv_freq`; the quotient simplifies
/// exactly to the expression above, evaluated here in Double.
///
/// Solver: torchdiffeq's fixed-grid "rk4" (`rk4_alt_step_func`, Kutta's 3/8 rule) on the grid
/// 1, 1+h, 1+2h, … with the last node clamped to the end time, outputs between nodes linearly
/// interpolated (torchdiffeq `FixedGridODESolver._linear_interp`). This is the path without a
/// tape, used for inference (θ(1…T) once, cached) and as the Float64 reference of the tests; the
/// differentiable training solve is `CLEXPositional.differentiableFrequencies`.
public struct CLEXODE: Sendable {
    /// The constant base inside θ_NTK (the released checkpoints were trained with it, whatever
    /// their rope_theta).
    public static let ntkBase = 10000.0

    /// d: the rotary dimension (d/2 pairs).
    public let dimension: Int
    /// λ·d: the hidden width.
    public let width: Int
    /// The activation between the two products.
    public let activation: CLEXActivation
    /// U, row-major [d/2, λd].
    public let up: [Double]
    /// D, row-major [λd, d/2].
    public let down: [Double]

    /// The ODE with weights `up` (U, [d/2 × width]) and `down` (D, [width × d/2]).
    public init(dimension: Int, activation: CLEXActivation, up: [Double], down: [Double]) {
        let half = dimension / 2
        requireArgument(dimension > 2 && dimension % 2 == 0, "CLEXODE: the dimension must be even and above 2, got \(dimension)")
        requireArgument(!up.isEmpty && up.count % half == 0 && down.count == up.count,
                    "CLEXODE: U has \(up.count) and D \(down.count) elements; both must be d/2 (\(half)) × width")
        self.dimension = dimension
        self.width = up.count / half
        self.activation = activation
        self.up = up
        self.down = down
    }

    /// log θ_NTK(t) and ξ(t) (d/2 each) for a time t ≥ 1 (the reference uses α = 1 below t = 1).
    public static func timeEmbedding(t: Double, dimension d: Int) -> (logNTK: [Double], drift: [Double]) {
        let alpha = t < 1 ? 1 : 2 * t - 1
        let (lnBase, lnAlpha) = (Foundation.log(ntkBase), Foundation.log(alpha))
        let half = d / 2
        var logNTK = [Double](repeating: 0, count: half), drift = logNTK
        for j in 0..<half {
            let twoJ = Double(2 * j)
            logNTK[j] = -(twoJ / Double(d)) * lnBase - (twoJ / Double(d - 2)) * lnAlpha
            drift[j] = -2 * twoJ / (Double(d - 2) * alpha)
        }
        return (logNTK, drift)
    }

    /// The nodes of torchdiffeq's fixed grid from `start` to `end` with step `h`: start + k·h
    /// while below `end`, then `end` itself (the last step may be shorter). A step count within
    /// 1e-9 of an integer is taken as that integer, so (end − start)/h = 100 − 1e-14 does not add
    /// an empty step (torchdiffeq's float32 `ceil` may; that step changes nothing).
    public static func grid(from start: Double, to end: Double, step h: Double) -> [Double] {
        requireArgument(h > 0 && h.isFinite && end >= start, "CLEXODE.grid: need step > 0 and end (\(end)) ≥ start (\(start)), step \(h)")
        let raw = (end - start) / h
        let nearest = raw.rounded()
        var steps = Swift.abs(raw - nearest) <= 1e-9 * Swift.max(1, raw) ? Int(nearest) : Int(raw.rounded(.up))
        // A step longer than the whole interval is one (shorter) step, not none.
        if steps == 0 && end > start { steps = 1 }
        if steps == 0 { return [start] }
        return (0..<steps).map { start + Double($0) * h } + [end]
    }

    /// Solves from z(start) = `z0` to `end` (≥ start) with step h. Every node is kept, so the
    /// result answers any time in between (`CLEXTrajectory.state(at:)`).
    public func trajectory(from z0: [Double], start: Double = 1, to end: Double, step h: Double,
                           precision: CLEXPrecision) -> CLEXTrajectory {
        requireArgument(z0.count == dimension / 2, "CLEXODE.trajectory: z0 has \(z0.count) elements, expected \(dimension / 2)")
        let times = Self.grid(from: start, to: end, step: h)
        switch precision {
        case .float32:
            return solve(Float.self, z0: z0, times: times)
        case .float64:
            return solve(Double.self, z0: z0, times: times)
        }
    }

    /// dz/dt at (t, z), in Double.
    public func derivative(t: Double, z: [Double]) -> [Double] {
        Evaluator<Double>(self).derivative(t, z)
    }

    /// RK4 with the ODE function evaluated in S. The state z is carried in Double in both
    /// precisions: rounding z to Float after every step would add one rounding of |z| ≤ 13
    /// (ulp ≈ 1e-6) per step, a drift of 1.4e-5 relative in θ after the 1500 steps to t = 16
    /// (measured on the spec's test vector); evaluating f in Float32 alone stays within 1e-6.
    private func solve<S: BinaryFloatingPoint>(_: S.Type, z0: [Double], times: [Double]) -> CLEXTrajectory {
        let f = Evaluator<S>(self)
        let n = z0.count
        var y = z0
        var states = [y]
        states.reserveCapacity(times.count)
        var stage = [S](repeating: 0, count: n)
        for (t0, t1) in zip(times, times.dropFirst()) {
            // torchdiffeq rk4_alt_step_func (3/8 rule), same operand order.
            let dt = t1 - t0
            for i in 0..<n { stage[i] = S(y[i]) }
            let k1 = f.derivative(t0, stage).map { Double($0) }
            for i in 0..<n { stage[i] = S(y[i] + dt * k1[i] / 3) }
            let k2 = f.derivative(t0 + dt / 3, stage).map { Double($0) }
            for i in 0..<n { stage[i] = S(y[i] + dt * (k2[i] - k1[i] / 3)) }
            let k3 = f.derivative(t0 + dt * 2 / 3, stage).map { Double($0) }
            for i in 0..<n { stage[i] = S(y[i] + dt * (k1[i] - k2[i] + k3[i])) }
            let k4 = f.derivative(t1, stage).map { Double($0) }
            for i in 0..<n {
                let sum = k1[i] + 3 * (k2[i] + k3[i]) + k4[i]
                y[i] += sum * dt * 0.125
            }
            states.append(y)
        }
        return CLEXTrajectory(times: times, states: states)
    }

    /// The ODE function in one precision: weights converted once.
    private struct Evaluator<S: BinaryFloatingPoint> {
        let d: Int, half: Int, width: Int
        let activation: CLEXActivation
        let up: [S], down: [S]

        init(_ ode: CLEXODE) {
            d = ode.dimension
            half = ode.dimension / 2
            width = ode.width
            activation = ode.activation
            up = ode.up.map { S($0) }
            down = ode.down.map { S($0) }
        }

        func derivative(_ t: Double, _ z: [S]) -> [S] {
            let (logNTK, drift) = CLEXODE.timeEmbedding(t: t, dimension: d)
            var hidden = [S](repeating: 0, count: width)
            up.withUnsafeBufferPointer { u in
                hidden.withUnsafeMutableBufferPointer { h in
                    for i in 0..<half {
                        let x = z[i] + S(logNTK[i])
                        let row = u.baseAddress! + i * width
                        for k in 0..<width { h[k] += x * row[k] }
                    }
                }
            }
            for k in 0..<width {
                let v = Double(hidden[k])
                switch activation {
                case .tanh: hidden[k] = S(Foundation.tanh(v))
                case .silu: hidden[k] = S(v / (1 + Foundation.exp(-v)))
                }
            }
            var out = drift.map { _ in S(0) }
            down.withUnsafeBufferPointer { dn in
                out.withUnsafeMutableBufferPointer { o in
                    for k in 0..<width {
                        let a = hidden[k]
                        let row = dn.baseAddress! + k * half
                        for j in 0..<half { o[j] += a * row[j] }
                    }
                }
            }
            for j in 0..<half { out[j] += S(drift[j]) }
            return out
        }
    }
}

/// The nodes of one ODE solve: z at every grid time.
public struct CLEXTrajectory: Sendable {
    /// Grid times, ascending (first = start, last = end).
    public let times: [Double]
    /// z at each time (d/2 values).
    public let states: [[Double]]

    /// z(t) for start ≤ t ≤ end: the node's state when t is a node, else the linear
    /// interpolation between the two nodes around t (torchdiffeq `_linear_interp`).
    public func state(at t: Double) -> [Double] {
        requireArgument(t >= times[0] && t <= times[times.count - 1],
                    "CLEXTrajectory: time \(t) outside the solved range [\(times[0]), \(times[times.count - 1])]")
        // First node ≥ t (torchdiffeq advances until t1 ≥ t).
        var lo = 0, hi = times.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if times[mid] >= t { hi = mid } else { lo = mid + 1 }
        }
        if times[lo] == t || lo == 0 { return states[lo] }
        let (t0, t1) = (times[lo - 1], times[lo])
        let slope = (t - t0) / (t1 - t0)
        return zip(states[lo - 1], states[lo]).map { $0 + slope * ($1 - $0) }
    }

    /// θ(t) = exp z(t).
    public func frequencies(at t: Double) -> [Double] {
        state(at: t).map { Foundation.exp($0) }
    }
}
