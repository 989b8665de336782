/// Root-mean-square normalisation over the last dimension, as HF `LlamaRMSNorm`:
/// y = x / sqrt(mean(x²) + ε) · weight, in Float32, the weight applied after normalising.
extension Ops {
    /// RMSNorm of every row of x.
    ///
    /// - x: [..., E] (rank ≥ 1)
    /// - weight: [E]
    /// - result: x's shape
    public static func rmsNorm(_ x: Tensor, weight: Tensor, epsilon: Float) -> Tensor {
        rmsNormWithStats(x, weight: weight, epsilon: epsilon).output
    }

    /// RMSNorm of every row of x, also returning what the backward needs.
    ///
    /// - x: [..., E] (rank ≥ 1)
    /// - weight: [E]
    /// - output: x's shape
    /// - inverseRMS: [...] (x's shape without its last dimension): 1 / sqrt(mean(x²) + ε) per row
    public static func rmsNormWithStats(_ x: Tensor, weight: Tensor, epsilon: Float)
        -> (output: Tensor, inverseRMS: Tensor) {
        let (rows, e) = rmsNormRows("rmsNorm", x, weight)
        let out = Tensor(zeros: x.shape)
        let inverse = Tensor(zeros: Array(x.shape.dropLast()))
        let (src, w, dst, inv) = (UnsafePointer(x.pointer), UnsafePointer(weight.pointer), out.pointer, inverse.pointer)
        typealias K = PointwiseKernel
        Parallel.forEachChunk(rows, costPerItem: 4 * e) { r in
            for row in r {
                let xr = src + row * e, yr = dst + row * e
                let rr = 1 / (K.dot(xr, xr, e) / Float(e) + epsilon).squareRoot()
                inv[row] = rr
                let s = K.Vector(repeating: rr)
                var i = 0
                while i + 16 <= e {
                    K.store(K.load(xr + i) * s * K.load(w + i), yr + i)
                    i += 16
                }
                while i < e {
                    yr[i] = xr[i] * rr * w[i]
                    i += 1
                }
            }
        }
        return (out, inverse)
    }

    /// Gradients of `rmsNorm` given its input x, weight, the saved `inverseRMS` r (per row) and
    /// the result's gradient g (x's shape). With n = x·r:
    /// dx = r·(g⊙w) − x·r³·mean(g⊙w⊙x) per row, d weight = Σ_rows g⊙n.
    /// Rows are split across threads; each thread sums its rows' weight gradient into its own
    /// [E] partial, and the partials are added at the end.
    public static func rmsNormBackward(_ x: Tensor, weight: Tensor, inverseRMS: Tensor, gradient g: Tensor,
                                       needX: Bool = true, needWeight: Bool = true) -> (x: Tensor?, weight: Tensor?) {
        let (rows, e) = rmsNormRows("rmsNormBackward", x, weight)
        ShapeCheck.require(ShapeCheck.same("rmsNormBackward gradient", x.shape, g.shape))
        ShapeCheck.require(ShapeCheck.same("rmsNormBackward inverseRMS", Array(x.shape.dropLast()), inverseRMS.shape))
        let dx = needX ? Tensor(zeros: x.shape) : nil
        let dw = needWeight ? Tensor(zeros: weight.shape) : nil
        if (dx == nil && dw == nil) || rows == 0 { return (dx, dw) }

        let blocks = rows * e >= 32_768 ? min(Parallel.threadCount, rows) : 1
        // One [E] weight-gradient partial per block (the result itself when there is one block).
        let partials = dw.map { blocks == 1 ? $0 : Tensor(zeros: [blocks, e]) }
        let (px, pw, pr, pg) = (UnsafePointer(x.pointer), UnsafePointer(weight.pointer),
                                UnsafePointer(inverseRMS.pointer), UnsafePointer(g.pointer))
        let (pdx, pdw) = (dx?.pointer, partials?.pointer)
        typealias K = PointwiseKernel
        Parallel.forEach(blocks) { b in
            let acc = pdw.map { $0 + b * e }
            for row in (rows * b / blocks)..<(rows * (b + 1) / blocks) {
                let xr = px + row * e, gr = pg + row * e
                let r = pr[row]
                let rv = K.Vector(repeating: r)
                if let acc {
                    var i = 0
                    while i + 16 <= e {
                        K.store(K.load(acc + i) + K.load(gr + i) * K.load(xr + i) * rv, acc + i)
                        i += 16
                    }
                    while i < e {
                        acc[i] += gr[i] * xr[i] * r
                        i += 1
                    }
                }
                if let pdx {
                    let dr = pdx + row * e
                    var d0 = K.Vector(repeating: 0)
                    var i = 0
                    while i + 16 <= e {
                        d0.addProduct(K.load(gr + i) * K.load(pw + i), K.load(xr + i))
                        i += 16
                    }
                    var dot = K.total(d0)
                    for j in i..<e { dot += gr[j] * pw[j] * xr[j] }
                    let c = r * r * r * dot / Float(e)
                    let cv = K.Vector(repeating: c)
                    i = 0
                    while i + 16 <= e {
                        K.store(rv * K.load(gr + i) * K.load(pw + i) - cv * K.load(xr + i), dr + i)
                        i += 16
                    }
                    while i < e {
                        dr[i] = r * gr[i] * pw[i] - c * xr[i]
                        i += 1
                    }
                }
            }
        }
        if let dw, let partials, blocks > 1 {
            let (out, p) = (dw.pointer, UnsafePointer(partials.pointer))
            for b in 0..<blocks {
                for i in 0..<e { out[i] += p[b * e + i] }
            }
        }
        return (dx, dw)
    }

    /// (rows, E) after checking that weight is [E] for x [..., E].
    private static func rmsNormRows(_ op: String, _ x: Tensor, _ weight: Tensor) -> (Int, Int) {
        requireArgument(x.rank >= 1 && weight.shape == [x.shape[x.rank - 1]],
                     "\(op): weight of shape \(weight.shape) must be [E] for input of shape \(x.shape) [..., E]")
        let e = weight.count
        return (e == 0 ? 0 : x.count / e, e)
    }
}

extension Variable {
    /// RMSNorm over the last dimension with a learned `weight` [E] (HF `LlamaRMSNorm`);
    /// `self` is [..., E]. Saves the per-row inverse RMS for the backward.
    public func rmsNorm(weight: Variable, epsilon: Float) -> Variable {
        let (x, w) = (self, weight)
        let (y, inverseRMS) = Ops.rmsNormWithStats(x.value, weight: w.value, epsilon: epsilon)
        return record(y, inputs: [x, w]) { g, sink in
            let (dx, dw) = Ops.rmsNormBackward(x.value, weight: w.value, inverseRMS: inverseRMS, gradient: g,
                                               needX: x.requiresGrad, needWeight: w.requiresGrad)
            if let dx { sink.add(dx, to: x) }
            if let dw { sink.add(dw, to: w) }
        }
    }
}
