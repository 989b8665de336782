/// Layer normalisation over the last dimension, as PyTorch `nn.LayerNorm` (GPT-NeoX, Phi-2):
/// y = (x − mean(x)) / sqrt(var(x) + ε) · weight + bias, the biased variance (divided by E), in
/// Float32 with the row statistics summed in Double.
extension Ops {
    /// LayerNorm of every row of x.
    ///
    /// - x: [..., E] (rank ≥ 1)
    /// - weight, bias: [E]
    /// - result: x's shape
    public static func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float) -> Tensor {
        layerNormWithStats(x, weight: weight, bias: bias, epsilon: epsilon).output
    }

    /// LayerNorm of every row of x, also returning what the backward needs.
    ///
    /// - output: x's shape
    /// - normalized: x's shape, n = (x − mean) · r
    /// - inverseStd: [...] (x's shape without its last dimension): r = 1 / sqrt(var + ε) per row
    public static func layerNormWithStats(_ x: Tensor, weight: Tensor, bias: Tensor, epsilon: Float)
        -> (output: Tensor, normalized: Tensor, inverseStd: Tensor) {
        let (rows, e) = layerNormRows("layerNorm", x, weight, bias)
        let out = Tensor(zeros: x.shape)
        let normalized = Tensor(zeros: x.shape)
        let inverse = Tensor(zeros: Array(x.shape.dropLast()))
        let (src, w, b) = (UnsafePointer(x.pointer), UnsafePointer(weight.pointer), UnsafePointer(bias.pointer))
        let (dst, nrm, inv) = (out.pointer, normalized.pointer, inverse.pointer)
        Parallel.forEachChunk(rows, costPerItem: 6 * e) { range in
            for row in range {
                let xr = src + row * e, yr = dst + row * e, nr = nrm + row * e
                var sum = 0.0
                for i in 0..<e { sum += Double(xr[i]) }
                let mean = sum / Double(e)
                var squares = 0.0
                for i in 0..<e {
                    let d = Double(xr[i]) - mean
                    squares += d * d
                }
                let r = Float(1 / (squares / Double(e) + Double(epsilon)).squareRoot())
                inv[row] = r
                let m = Float(mean)
                for i in 0..<e {
                    let n = (xr[i] - m) * r
                    nr[i] = n
                    yr[i] = n * w[i] + b[i]
                }
            }
        }
        return (out, normalized, inverse)
    }

    /// Gradients of `layerNorm` from the saved normalised rows n, inverse std r (per row), the
    /// weight and the result's gradient g (x's shape). With ĝ = g ⊙ w:
    /// dx = r·(ĝ − mean(ĝ) − n·mean(ĝ ⊙ n)) per row, d weight = Σ_rows g ⊙ n, d bias = Σ_rows g.
    public static func layerNormBackward(normalized n: Tensor, inverseStd: Tensor, weight: Tensor, gradient g: Tensor,
                                         needX: Bool = true, needWeight: Bool = true, needBias: Bool = true)
        -> (x: Tensor?, weight: Tensor?, bias: Tensor?) {
        let (rows, e) = layerNormRows("layerNormBackward", n, weight, weight)
        ShapeCheck.require(ShapeCheck.same("layerNormBackward gradient", n.shape, g.shape))
        ShapeCheck.require(ShapeCheck.same("layerNormBackward inverseStd", Array(n.shape.dropLast()), inverseStd.shape))
        let dx = needX ? Tensor(zeros: n.shape) : nil
        let dw = needWeight ? Tensor(zeros: weight.shape) : nil
        let db = needBias ? Tensor(zeros: weight.shape) : nil
        let (pn, pr, pw, pg) = (UnsafePointer(n.pointer), UnsafePointer(inverseStd.pointer),
                                UnsafePointer(weight.pointer), UnsafePointer(g.pointer))
        if let dx {
            let pdx = dx.pointer
            Parallel.forEachChunk(rows, costPerItem: 6 * e) { range in
                for row in range {
                    let nr = pn + row * e, gr = pg + row * e, dr = pdx + row * e
                    var sumG = 0.0, sumGN = 0.0
                    for i in 0..<e {
                        let gh = Double(gr[i] * pw[i])
                        sumG += gh
                        sumGN += gh * Double(nr[i])
                    }
                    let (meanG, meanGN, r) = (Float(sumG / Double(e)), Float(sumGN / Double(e)), pr[row])
                    for i in 0..<e { dr[i] = r * (gr[i] * pw[i] - meanG - nr[i] * meanGN) }
                }
            }
        }
        if dw != nil || db != nil {
            let (pdw, pdb) = (dw?.pointer, db?.pointer)
            Parallel.forEachChunk(e, costPerItem: 2 * rows) { range in
                for row in 0..<rows {
                    let nr = pn + row * e, gr = pg + row * e
                    if let pdw { for i in range { pdw[i] += gr[i] * nr[i] } }
                    if let pdb { for i in range { pdb[i] += gr[i] } }
                }
            }
        }
        return (dx, dw, db)
    }

    /// (rows, E) after checking that weight and bias are [E] for x [..., E].
    private static func layerNormRows(_ op: String, _ x: Tensor, _ weight: Tensor, _ bias: Tensor) -> (Int, Int) {
        requireArgument(x.rank >= 1 && weight.shape == [x.shape[x.rank - 1]] && bias.shape == weight.shape,
                        "\(op): weight \(weight.shape) and bias \(bias.shape) must be [E] for input of shape \(x.shape) [..., E]")
        let e = weight.count
        return (e == 0 ? 0 : x.count / e, e)
    }
}

extension Variable {
    /// LayerNorm over the last dimension with a learned `weight` and `bias` [E] (PyTorch
    /// `nn.LayerNorm`); `self` is [..., E]. Saves the normalised rows and inverse std.
    public func layerNorm(weight: Variable, bias: Variable, epsilon: Float) -> Variable {
        let (x, w, b) = (self, weight, bias)
        let (y, normalized, inverseStd) = Ops.layerNormWithStats(x.value, weight: w.value, bias: b.value, epsilon: epsilon)
        return record(y, inputs: [x, w, b]) { g, sink in
            let (dx, dw, db) = Ops.layerNormBackward(normalized: normalized, inverseStd: inverseStd, weight: w.value,
                                                     gradient: g, needX: x.requiresGrad, needWeight: w.requiresGrad,
                                                     needBias: b.requiresGrad)
            if let dx { sink.add(dx, to: x) }
            if let dw { sink.add(dw, to: w) }
            if let db { sink.add(db, to: b) }
        }
    }
}
