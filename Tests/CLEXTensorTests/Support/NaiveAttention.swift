import CLEXTensor
import Foundation

/// Reference attention that forms every score and softmax in Double, following the definitions
/// of `AttentionOptions` directly: query i at position i + (S − T), key j at position j unless
/// positions are given; causal means key j ≤ i + (S − T), and a window of W also j > i + (S − T) − W;
/// bias −slope·(queryPos − keyPos).
struct NaiveAttention {
    let batch: Int, queries: Int, keys: Int, queryHeads: Int, kvHeads: Int, headDim: Int
    let q: [Double], k: [Double], v: [Double]
    let scale: Double
    let options: AttentionOptions

    /// q [B, T, Hq, D] or [T, Hq, D]; k, v [B, S, Hkv, D] or [S, Hkv, D].
    init(_ q: Tensor, _ k: Tensor, _ v: Tensor, options: AttentionOptions) {
        let (qs, ks) = q.rank == 4 ? (q.shape, k.shape) : ([1] + q.shape, [1] + k.shape)
        batch = qs[0]; queries = qs[1]; queryHeads = qs[2]; headDim = qs[3]
        keys = ks[1]; kvHeads = ks[2]
        self.q = q.scalars.map(Double.init)
        self.k = k.scalars.map(Double.init)
        self.v = v.scalars.map(Double.init)
        scale = Double(options.scale ?? 1 / Float(headDim).squareRoot())
        self.options = options
    }

    private func qi(_ b: Int, _ t: Int, _ h: Int) -> Int { ((b * queries + t) * queryHeads + h) * headDim }
    private func ki(_ b: Int, _ s: Int, _ h: Int) -> Int { ((b * keys + s) * kvHeads + h) * headDim }

    /// Softmax probabilities of query row (b, h, i) over all S keys (0 where masked), and the
    /// log-sum-exp of its visible scores.
    func probabilities(_ b: Int, _ h: Int, _ i: Int) -> (p: [Double], lse: Double) {
        let kvh = h / (queryHeads / kvHeads)
        let offset = keys - queries
        let qPos = options.queryPositions.map { Double($0[i]) } ?? Double(i + offset)
        var scores = [Double](repeating: -.infinity, count: keys)
        for j in 0..<keys where !options.causal || (j <= i + offset && j > i + offset - (options.window ?? keys + 1)) {
            var s = 0.0
            for c in 0..<headDim { s += q[qi(b, i, h) + c] * k[ki(b, j, kvh) + c] }
            s *= scale
            if let slopes = options.alibiSlopes {
                let kPos = options.keyPositions.map { Double($0[j]) } ?? Double(j)
                s -= Double(slopes[h]) * (qPos - kPos)
            }
            scores[j] = s
        }
        let m = scores.max()!
        let e = scores.map { $0 == -.infinity ? 0 : Foundation.exp($0 - m) }
        let sum = e.reduce(0, +)
        return (e.map { $0 / sum }, m + Foundation.log(sum))
    }

    /// Output [B, T, Hq, D] and log-sum-exp [B, Hq, T].
    func forward() -> (output: [Double], logSumExp: [Double]) {
        var out = [Double](repeating: 0, count: batch * queries * queryHeads * headDim)
        var lse = [Double](repeating: 0, count: batch * queryHeads * queries)
        for b in 0..<batch {
            for h in 0..<queryHeads {
                let kvh = h / (queryHeads / kvHeads)
                for i in 0..<queries {
                    let (p, l) = probabilities(b, h, i)
                    lse[(b * queryHeads + h) * queries + i] = l
                    for j in 0..<keys where p[j] != 0 {
                        for c in 0..<headDim { out[qi(b, i, h) + c] += p[j] * v[ki(b, j, kvh) + c] }
                    }
                }
            }
        }
        return (out, lse)
    }

    /// Gradients of Σ output ⊙ dO by q, k, v, from the softmax Jacobian written out:
    /// dV_j = Σ_i P_ij dO_i, dP_ij = dO_i·V_j, dS_ij = P_ij (dP_ij − Σ_j' P_ij' dP_ij'),
    /// dQ_i = scale Σ_j dS_ij K_j, dK_j = scale Σ_i dS_ij Q_i (summed over a kv head's group).
    func backward(_ gradient: Tensor) -> (q: [Double], k: [Double], v: [Double]) {
        let dO = gradient.scalars.map(Double.init)
        var dq = [Double](repeating: 0, count: q.count)
        var dk = [Double](repeating: 0, count: k.count)
        var dv = [Double](repeating: 0, count: v.count)
        for b in 0..<batch {
            for h in 0..<queryHeads {
                let kvh = h / (queryHeads / kvHeads)
                for i in 0..<queries {
                    let (p, _) = probabilities(b, h, i)
                    var dp = [Double](repeating: 0, count: keys)
                    var weighted = 0.0
                    for j in 0..<keys where p[j] != 0 {
                        for c in 0..<headDim {
                            dp[j] += dO[qi(b, i, h) + c] * v[ki(b, j, kvh) + c]
                            dv[ki(b, j, kvh) + c] += p[j] * dO[qi(b, i, h) + c]
                        }
                        weighted += p[j] * dp[j]
                    }
                    for j in 0..<keys where p[j] != 0 {
                        let ds = p[j] * (dp[j] - weighted) * scale
                        for c in 0..<headDim {
                            dq[qi(b, i, h) + c] += ds * k[ki(b, j, kvh) + c]
                            dk[ki(b, j, kvh) + c] += ds * q[qi(b, i, h) + c]
                        }
                    }
                }
            }
        }
        return (dq, dk, dv)
    }
}
