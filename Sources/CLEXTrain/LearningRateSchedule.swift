import Foundation

/// Learning rate by step: linear warm-up from 0, then constant or cosine decay to `minimum`.
/// Update k (1-based) takes `rate(at: k)`, or `rate(at: k − 1)` when `countsFromZero` — the
/// convention of transformers' schedules under `torch.optim.lr_scheduler.LambdaLR`, whose first
/// update, during a warm-up, takes a rate of 0.
public struct LearningRateSchedule: Sendable, Codable, Equatable {
    public enum Shape: String, Sendable, Codable { case constant, cosine }
    public var peak: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    public var shape: Shape
    /// Floor of the cosine decay, as a fraction of `peak`.
    public var minimumFraction: Float
    /// Whether update k takes the rate of step k − 1 (HF's convention) rather than of step k.
    public var countsFromZero: Bool

    public init(peak: Float, warmupSteps: Int, totalSteps: Int, shape: Shape = .cosine, minimumFraction: Float = 0.1,
                countsFromZero: Bool = false) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.shape = shape
        self.minimumFraction = minimumFraction
        self.countsFromZero = countsFromZero
    }

    /// The rate of update `k` (1-based).
    public func rate(forUpdate k: Int) -> Float { rate(at: countsFromZero ? k - 1 : k) }

    /// The rate at `step` of the schedule's formula (0 … totalSteps).
    public func rate(at step: Int) -> Float {
        if step <= warmupSteps && warmupSteps > 0 { return peak * Float(step) / Float(warmupSteps) }
        switch shape {
        case .constant: return peak
        case .cosine:
            let span = max(totalSteps - warmupSteps, 1)
            let progress = min(max(Double(step - warmupSteps) / Double(span), 0), 1)
            let cosine = 0.5 * (1 + cos(Double.pi * progress))
            let floor = Double(minimumFraction)
            return peak * Float(floor + (1 - floor) * cosine)
        }
    }
}
