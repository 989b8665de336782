import Foundation

/// Top-k routing of a sparse mixture of experts (HF MixtralSparseMoeBlock): for each row of
/// router logits, the k largest and their weights — softmax over all experts, keep the top k,
/// divide by their sum — which equals a softmax over the k kept logits alone.
extension Ops {
    /// The top `k` of each row of `logits` [R, N] (largest first; equal logits: lower index
    /// first) and their renormalised softmax weights.
    ///
    /// - experts: R·k indices in 0..<N, row-major [R, k]
    /// - weights: [R, k]
    public static func topKSoftmax(_ logits: Tensor, k: Int) -> (experts: [Int32], weights: Tensor) {
        requireArgument(logits.rank == 2 && k >= 1 && k <= logits.shape[1],
                        "topKSoftmax: k = \(k) must be in 1...N for logits of shape \(logits.shape) [R, N]")
        let (rows, n) = (logits.shape[0], logits.shape[1])
        var experts = [Int32](repeating: 0, count: rows * k)
        let weights = Tensor(zeros: [rows, k])
        let (src, w) = (UnsafePointer(logits.pointer), weights.pointer)
        for r in 0..<rows {
            let row = src + r * n
            var chosen: [Int] = []
            for _ in 0..<k {
                var best = -1
                for j in 0..<n where !chosen.contains(j) && (best < 0 || row[j] > row[best]) { best = j }
                chosen.append(best)
            }
            let top = row[chosen[0]]
            var sum: Float = 0
            for (i, j) in chosen.enumerated() {
                experts[r * k + i] = Int32(j)
                w[r * k + i] = (row[j] - top).exp
                sum += w[r * k + i]
            }
            for i in 0..<k { w[r * k + i] /= sum }
        }
        return (experts, weights)
    }

    /// Gradient of `topKSoftmax`'s weights with respect to the logits [R, N]: for the kept
    /// entries of row r, w_i·(g_i − Σ_j g_j·w_j) (a softmax over the kept logits); zero for the
    /// others (the choice itself has no gradient).
    public static func topKSoftmaxBackward(experts: [Int32], weights: Tensor, gradient g: Tensor, logitShape: [Int]) -> Tensor {
        ShapeCheck.require(ShapeCheck.same("topKSoftmaxBackward", weights.shape, g.shape))
        let (rows, k, n) = (weights.shape[0], weights.shape[1], logitShape[1])
        let out = Tensor(zeros: logitShape)
        let (w, gp, d) = (weights.pointer, g.pointer, out.pointer)
        for r in 0..<rows {
            var dot: Float = 0
            for i in 0..<k { dot += gp[r * k + i] * w[r * k + i] }
            for i in 0..<k { d[r * n + Int(experts[r * k + i])] += w[r * k + i] * (gp[r * k + i] - dot) }
        }
        return out
    }
}

private extension Float {
    var exp: Float { Float(Foundation.exp(Double(self))) }
}

extension Variable {
    /// The top `k` experts of each row of router logits [R, N] and their renormalised softmax
    /// weights [R, k] (differentiable with respect to the logits).
    public func topKSoftmax(k: Int) -> (experts: [Int32], weights: Variable) {
        let logits = self
        let (experts, weights) = Ops.topKSoftmax(logits.value, k: k)
        let v = record(weights, inputs: [logits]) { g, sink in
            sink.add(Ops.topKSoftmaxBackward(experts: experts, weights: weights, gradient: g, logitShape: logits.shape), to: logits)
        }
        return (experts, v)
    }
}
