import Foundation

/// Fused next-token cross-entropy (log-softmax + negative log-likelihood) over a vocabulary.
///
/// Targets use −1 for positions that are not scored (padding, prompt tokens). HF's `-100`
/// ignore index is not accepted here: callers map it to −1 when they read labels. Any other
/// target outside 0..<V is a programmer error and stops the program naming the row, the target
/// and V.
///
/// The forward keeps only two floats a row (the row maximum and log Σ e^(x − max)); the backward
/// rebuilds the softmax from the logits with them, so no [N, V] probability table is stored.
extension Ops {
    /// The target value that marks a position as not scored.
    public static let ignoredTarget: Int32 = -1

    /// What `crossEntropy` computes.
    public struct CrossEntropyOutput {
        /// Mean negative log-likelihood over the scored rows, shape [] (0 when no row is scored).
        public let loss: Tensor
        /// Negative log-likelihood of each row's target, [N] (0 at ignored rows). Its sum over the
        /// scored rows is the token-weighted total NLL that perplexity needs.
        public let perRow: Tensor
        /// Number of scored (not ignored) rows.
        public let count: Int
        /// Each row's largest logit, [N].
        public let rowMax: Tensor
        /// log Σ_j e^(x_j − rowMax) of each row, [N] (the log-sum-exp is rowMax + rowLogSum; kept
        /// apart so that logits of magnitude 1e4 lose no precision).
        public let rowLogSum: Tensor
    }

    /// Cross-entropy of `logits` [N, V] against `targets` (N entries, each in 0..<V or −1 = ignored).
    public static func crossEntropy(_ logits: Tensor, targets: [Int32]) -> CrossEntropyOutput {
        let (n, v) = crossEntropyCheck("crossEntropy", logits, targets)
        let perRow = Tensor(zeros: [n])
        let rowMax = Tensor(zeros: [n])
        let rowLogSum = Tensor(zeros: [n])
        let (x, nll, pm, pl) = (UnsafePointer(logits.pointer), perRow.pointer, rowMax.pointer, rowLogSum.pointer)
        targets.withUnsafeBufferPointer { t in
            Parallel.forEachChunk(n, costPerItem: 24 * v) { r in
                for row in r {
                    let xr = x + row * v
                    let (m, sum) = PointwiseKernel.maxAndSumExp(xr, v)
                    let logSum = Foundation.log(sum)
                    pm[row] = m
                    pl[row] = logSum
                    let target = Int(t[row])
                    if target >= 0 { nll[row] = (m - xr[target]) + logSum }
                }
            }
        }
        var total = 0.0
        var count = 0
        for row in 0..<n where targets[row] >= 0 {
            total += Double(nll[row])
            count += 1
        }
        let loss = Tensor(scalar: count == 0 ? 0 : Float(total / Double(count)))
        return CrossEntropyOutput(loss: loss, perRow: perRow, count: count, rowMax: rowMax, rowLogSum: rowLogSum)
    }

    /// Gradient of the mean loss with respect to the logits, scaled by the loss's gradient g:
    /// (softmax(row) − onehot(target))·g / count for scored rows, 0 for ignored rows.
    ///
    /// - logits: [N, V], the forward's input; `forward`: what `crossEntropy` returned for them
    /// - result: [N, V]
    public static func crossEntropyBackward(_ logits: Tensor, targets: [Int32], forward: CrossEntropyOutput,
                                            gradient g: Float) -> Tensor {
        let (n, v) = crossEntropyCheck("crossEntropyBackward", logits, targets)
        requireArgument(forward.rowMax.shape == [n] && forward.rowLogSum.shape == [n],
                     "crossEntropyBackward: saved row statistics of shape \(forward.rowMax.shape) do not match logits of shape \(logits.shape)")
        let out = Tensor(zeros: logits.shape)
        if forward.count == 0 { return out }
        let scale = g / Float(forward.count)
        let (x, dst, pm, pl) = (UnsafePointer(logits.pointer), out.pointer,
                                UnsafePointer(forward.rowMax.pointer), UnsafePointer(forward.rowLogSum.pointer))
        typealias K = PointwiseKernel
        targets.withUnsafeBufferPointer { t in
            Parallel.forEachChunk(n, costPerItem: 22 * v) { r in
                for row in r {
                    let target = Int(t[row])
                    if target < 0 { continue }
                    let xr = x + row * v, dr = dst + row * v
                    let s = K.Vector(repeating: scale)
                    // (x − max) − logSum, not x − (max + logSum): no rounding of a sum near 1e4 for huge logits.
                    let m = K.Vector(repeating: pm[row]), l = K.Vector(repeating: pl[row])
                    var i = 0
                    while i + 16 <= v {
                        K.store(FastMath.exp((K.load(xr + i) - m) - l) * s, dr + i)
                        i += 16
                    }
                    if i < v {
                        K.store(FastMath.exp((K.load(xr + i, count: v - i, fill: 0) - m) - l) * s, dr + i, count: v - i)
                    }
                    dr[target] -= scale
                }
            }
        }
        return out
    }

    /// (N, V) after checking logits [N, V] against N targets, each in 0..<V or −1.
    private static func crossEntropyCheck(_ op: String, _ logits: Tensor, _ targets: [Int32]) -> (Int, Int) {
        requireArgument(logits.rank == 2 && logits.shape[0] == targets.count,
                     "\(op): logits of shape \(logits.shape) must be [N, V] with N = \(targets.count) targets")
        let v = logits.shape[1]
        // fatalError rather than precondition: release builds drop precondition messages, and this
        // one (a tokenizer/vocabulary mismatch, unmapped -100 labels) must reach the user.
        for (row, target) in targets.enumerated() where target != ignoredTarget && !(target >= 0 && Int(target) < v) {
            fatalError("\(op): target \(target) at row \(row) is outside the vocabulary 0..<\(v) (use -1 to ignore a position)")
        }
        return (targets.count, v)
    }
}

extension Variable {
    /// Mean cross-entropy of `self` (logits [N, V]) against `targets` (N entries, −1 = ignored),
    /// as a scalar (shape []). For the per-row NLL (evaluation) call `Ops.crossEntropy` directly.
    public func crossEntropy(targets: [Int32]) -> Variable {
        let logits = self
        let forward = Ops.crossEntropy(logits.value, targets: targets)
        return record(forward.loss, inputs: [logits]) { g, sink in
            sink.add(Ops.crossEntropyBackward(logits.value, targets: targets, forward: forward, gradient: g.item),
                     to: logits)
        }
    }
}
