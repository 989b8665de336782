/// A tensor recorded on a `Tape`: the handle through which differentiable ops are composed.
///
/// The tape owns the graph and a variable only points at it (unowned: backward closures hold
/// variables, so a strong reference would keep every tape and its tensors alive forever). Keep
/// the tape alive while you use its variables.
///
/// Ops on variables (`matmul`, `rmsNorm`, `attention`, …) compute their value at once with the
/// kernels in `Ops` and record how to back-propagate through it.
public struct Variable {
    /// The tape that recorded this value.
    public unowned let tape: Tape
    /// Position on the tape.
    public let id: Int
    /// The computed value.
    public let value: Tensor
    /// Whether any gradient flows to this value.
    public let requiresGrad: Bool

    /// Shape of `value`.
    public var shape: [Int] { value.shape }

    /// Records a new op result whose inputs include `self` (convenience for op extensions).
    public func record(_ value: Tensor, inputs: [Variable], backward: @escaping Tape.Backward) -> Variable {
        tape.record(value, inputs: inputs, backward: backward)
    }
}
