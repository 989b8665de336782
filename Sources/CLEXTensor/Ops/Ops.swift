/// The kernels: functions from tensors to fresh tensors, each with the backward kernels its
/// `Variable` wrapper needs. Inference calls these directly (no tape); training goes through
/// the `Variable` methods defined next to each kernel.
public enum Ops {}
