import CLEXTensor
import Foundation

/// AdamW (Loshchilov & Hutter 2019) in PyTorch's convention (`torch.optim.AdamW`): for each
/// parameter p with gradient g at step t (1-based), learning rate η, weight decay λ:
///
///     p ← p − η·λ·p                       (decoupled decay, applied first)
///     m ← β1·m + (1 − β1)·g
///     v ← β2·v + (1 − β2)·g²
///     p ← p − η · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε)
///
/// State (m, v, t) is kept per parameter name, so it can be saved and restored exactly. As in
/// PyTorch, t counts the updates of that parameter: one that got no gradient in some steps (CLEX's
/// U and D when every micro-batch drew t = 1) is not updated then, and its bias correction later
/// counts only its own updates.
public struct AdamW {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.95
    public var epsilon: Float = 1e-8
    public var weightDecay: Float = 0.1
    /// Optimisation steps begun so far.
    public private(set) var step = 0
    /// First and second moments by parameter name.
    public private(set) var moments: [String: (m: Tensor, v: Tensor)] = [:]
    /// Updates of each parameter so far (its t).
    public private(set) var updateCounts: [String: Int] = [:]

    public init(beta1: Float = 0.9, beta2: Float = 0.95, epsilon: Float = 1e-8, weightDecay: Float = 0.1) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// Starts a step: call once before the `update` calls of one optimisation step.
    public mutating func beginStep() { step += 1 }

    /// Updates `parameter` in place from `gradient` (same shape) with learning rate `lr`;
    /// `decay` false exempts it from weight decay (norm weights, by the usual convention).
    public mutating func update(_ name: String, parameter: Tensor, gradient: Tensor, lr: Float, decay: Bool = true) {
        ShapeCheck.require(ShapeCheck.same("AdamW.update(\(name))", parameter.shape, gradient.shape))
        requireArgument(step > 0, "AdamW.update: call beginStep() first")
        if moments[name] == nil { moments[name] = (Tensor(zeros: parameter.shape), Tensor(zeros: parameter.shape)) }
        let (m, v) = moments[name]!
        let t = (updateCounts[name] ?? 0) + 1
        updateCounts[name] = t
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        let c1 = 1 / (1 - Float(Foundation.pow(Double(b1), Double(t))))
        let c2 = 1 / (1 - Float(Foundation.pow(Double(b2), Double(t))))
        let shrink = 1 - lr * (decay ? weightDecay : 0)
        let (p, g, mp, vp) = (parameter.pointer, gradient.pointer, m.pointer, v.pointer)
        Parallel.forEachChunk(parameter.count, costPerItem: 12) { r in
            for i in r {
                let gi = g[i]
                let mi = b1 * mp[i] + (1 - b1) * gi
                let vi = b2 * vp[i] + (1 - b2) * gi * gi
                mp[i] = mi
                vp[i] = vi
                p[i] = p[i] * shrink - lr * (mi * c1) / ((vi * c2).squareRoot() + eps)
            }
        }
    }

    /// Restores state saved from `step`, `moments` and `updateCounts` (checkpoint resume); without
    /// counts (checkpoints written before they were kept) every parameter with moments counts `step`.
    public mutating func restore(step: Int, moments: [String: (m: Tensor, v: Tensor)], updateCounts: [String: Int]? = nil) {
        self.step = step
        self.moments = moments
        self.updateCounts = updateCounts ?? moments.mapValues { _ in step }
    }
}

/// Scales gradients so that their global L2 norm is at most `maxNorm`, as PyTorch's
/// `clip_grad_norm_` does (factor min(1, maxNorm / (norm + 1e-6))); returns the norm before
/// clipping (accumulated in Double). A non-finite norm is returned as is and nothing is scaled.
public func clipGradients(_ gradients: [Tensor], maxNorm: Float) -> Double {
    var total = 0.0
    for g in gradients {
        let p = g.pointer
        var s = 0.0
        for i in 0..<g.count { s += Double(p[i]) * Double(p[i]) }
        total += s
    }
    let norm = total.squareRoot()
    let factor = Double(maxNorm) / (norm + 1e-6)
    guard norm.isFinite, maxNorm > 0, factor < 1 else { return norm }
    let scale = Float(factor)
    for g in gradients {
        let p = g.pointer
        for i in 0..<g.count { p[i] *= scale }
    }
    return norm
}
