/// Row-wise building blocks of routed computations (a mixture of experts): scaling each row by
/// its own factor, adding rows into chosen rows of a larger matrix, and a block of rows of a
/// parameter. Each with its gradient.
extension Ops {
    /// Row r of x [R, E] times s[r] (s: [R]).
    public static func scaleRows(_ x: Tensor, by s: Tensor) -> Tensor {
        requireArgument(x.rank == 2 && s.shape == [x.shape[0]], "scaleRows: factors of shape \(s.shape) for rows of \(x.shape)")
        let (rows, e) = (x.shape[0], x.shape[1])
        let out = Tensor(zeros: x.shape)
        let (src, f, dst) = (x.pointer, s.pointer, out.pointer)
        for r in 0..<rows { for j in 0..<e { dst[r * e + j] = src[r * e + j] * f[r] } }
        return out
    }

    /// Gradients of `scaleRows`: dx = g scaled by s per row, ds[r] = Σ_j g[r, j]·x[r, j].
    public static func scaleRowsBackward(_ x: Tensor, by s: Tensor, gradient g: Tensor) -> (x: Tensor, s: Tensor) {
        ShapeCheck.require(ShapeCheck.same("scaleRowsBackward", x.shape, g.shape))
        let (rows, e) = (x.shape[0], x.shape[1])
        let ds = Tensor(zeros: s.shape)
        let (xp, gp, d) = (x.pointer, g.pointer, ds.pointer)
        for r in 0..<rows {
            var sum: Float = 0
            for j in 0..<e { sum += gp[r * e + j] * xp[r * e + j] }
            d[r] = sum
        }
        return (scaleRows(g, by: s), ds)
    }
}

extension Variable {
    /// Row r of self [R, E] times factors[r] (factors: [R]).
    public func scaledRows(by factors: Variable) -> Variable {
        let (x, s) = (self, factors)
        return record(Ops.scaleRows(x.value, by: s.value), inputs: [x, s]) { g, sink in
            let (dx, ds) = Ops.scaleRowsBackward(x.value, by: s.value, gradient: g)
            if x.requiresGrad { sink.add(dx, to: x) }
            if s.requiresGrad { sink.add(ds, to: s) }
        }
    }

    /// A [count, E] matrix whose row rows[i] accumulates row i of self [N, E] (zeros elsewhere):
    /// the transpose of gathering `rows` (its gradient gathers them).
    public func scatteredRows(_ rows: [Int32], count: Int) -> Variable {
        let x = self
        return record(Ops.embeddingBackward(ids: rows, vocabularySize: count, gradient: x.value), inputs: [x]) { g, sink in
            sink.add(Ops.embedding(g, ids: rows), to: x)
        }
    }

    /// Rows `range` of self [R, E] (a copy; the gradient lands in those rows).
    public func rows(_ range: Range<Int>) -> Variable {
        let x = self
        requireArgument(x.shape.count == 2 && range.lowerBound >= 0 && range.upperBound <= x.shape[0],
                        "rows: \(range) of a matrix of shape \(x.shape)")
        return record(x.value.slice(rows: range).copy(), inputs: [x]) { g, sink in
            let full = Tensor(zeros: x.shape)
            full.slice(rows: range).assign(g)
            sink.add(full, to: x)
        }
    }
}
