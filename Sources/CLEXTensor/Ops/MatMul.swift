/// Matrix products through OpenBLAS `sgemm`: every transpose combination, batched over leading
/// dimensions, and a 2-D right operand broadcast over a batched left operand (a linear layer).
extension Ops {
    /// op(a) · op(b), where op transposes the last two dimensions when asked.
    ///
    /// - a: [batch…, M, K] ([batch…, K, M] with `transposeA`)
    /// - b: [batch…, K, N] ([batch…, N, K] with `transposeB`), or 2-D and shared by every batch
    /// - result: [batch…, M, N]
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        let p = MatMulPlan(a.shape, b.shape, transposeA, transposeB)
        let out = Tensor(zeros: p.batch + [p.m, p.n])
        p.run(a.pointer, b.pointer, out.pointer)
        return out
    }

    /// The gradients of `matmul(a, b, transposeA:, transposeB:)` given the result's gradient `g`.
    public static func matmulBackward(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool,
                                      gradient g: Tensor, needA: Bool = true, needB: Bool = true)
        -> (a: Tensor?, b: Tensor?) {
        var da: Tensor?
        var db: Tensor?
        if needA {
            // C = op(A)·op(B): dop(A) = dC·op(B)ᵀ; if A was transposed, dA = op(B)·dCᵀ.
            if !transposeA {
                da = matmul(g, b, transposeA: false, transposeB: !transposeB).reshaped(a.shape)
            } else if b.rank == 2 && a.rank > 2 {
                // A shared B cannot stand on the left of a batched product: one GEMM per batch.
                let result = Tensor(zeros: a.shape)
                let (k, m) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
                let n = g.shape[g.rank - 1]
                for i in 0..<(a.count / max(k * m, 1)) {
                    BLAS.sgemm(transA: transposeB, transB: true, m: k, n: m, k: n,
                               a: b.pointer, lda: b.shape[1], b: g.pointer + i * m * n, ldb: n,
                               c: result.pointer + i * k * m, ldc: m)
                }
                da = result
            } else {
                da = matmul(b, g, transposeA: transposeB, transposeB: true).reshaped(a.shape)
            }
        }
        if needB {
            // dop(B) = op(A)ᵀ·dC; if B was transposed, dB = dCᵀ·op(A).
            if b.rank == 2 && a.rank > 2 {
                let m = transposeA ? a.shape[a.rank - 1] : a.shape[a.rank - 2]
                let k = transposeA ? a.shape[a.rank - 2] : a.shape[a.rank - 1]
                let n = g.shape[g.rank - 1]
                let batches = a.count / max(m * k, 1)
                let gm = g.reshaped([batches * m, n])
                if !transposeA {
                    let am = a.reshaped([batches * m, k])
                    db = transposeB ? matmul(gm, am, transposeA: true) : matmul(am, gm, transposeA: true)
                } else {
                    db = Tensor(zeros: b.shape)
                    for i in 0..<batches {
                        let ai = a.reshaped([batches, k, m]).slice(rows: i..<(i + 1)).reshaped([k, m])
                        let gi = gm.slice(rows: (i * m)..<((i + 1) * m))
                        let part = transposeB ? matmul(gi, ai, transposeA: true, transposeB: true)
                                              : matmul(ai, gi, transposeA: false)
                        addInPlace(db!, part)
                    }
                }
            } else {
                db = transposeB
                    ? matmul(g, a, transposeA: true, transposeB: transposeA).reshaped(b.shape)
                    : matmul(a, g, transposeA: !transposeA, transposeB: false).reshaped(b.shape)
            }
        }
        return (da, db)
    }
}

/// Shapes, strides and loop of one (batched) matmul.
struct MatMulPlan {
    let batch: [Int]
    let m: Int, n: Int, k: Int
    let transA: Bool, transB: Bool
    let batchCount: Int
    let bShared: Bool

    init(_ a: [Int], _ b: [Int], _ transA: Bool, _ transB: Bool) {
        requireArgument(a.count >= 2 && b.count >= 2,
                     "matmul: operands need at least 2 dimensions, got shapes \(a) and \(b)")
        let am = transA ? a[a.count - 1] : a[a.count - 2]
        let ak = transA ? a[a.count - 2] : a[a.count - 1]
        let bk = transB ? b[b.count - 1] : b[b.count - 2]
        let bn = transB ? b[b.count - 2] : b[b.count - 1]
        let aBatch = Array(a.dropLast(2)), bBatch = Array(b.dropLast(2))
        requireArgument(ak == bk,
                     "matmul: inner dimensions differ for shapes \(a) and \(b) (transposeA: \(transA), transposeB: \(transB))")
        requireArgument(bBatch.isEmpty || aBatch == bBatch,
                     "matmul: batch dimensions differ for shapes \(a) and \(b)")
        self.batch = aBatch
        self.m = am; self.n = bn; self.k = ak
        self.transA = transA; self.transB = transB
        self.batchCount = aBatch.reduce(1, *)
        self.bShared = bBatch.isEmpty
    }

    func run(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>) {
        let lda = transA ? m : k
        let ldb = transB ? k : n
        if bShared && !transA {
            // One GEMM over all batch rows: [batch·M, K] · op(B).
            BLAS.sgemm(transA: false, transB: transB, m: batchCount * m, n: n, k: k,
                       a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: n)
            return
        }
        for i in 0..<batchCount {
            BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k,
                       a: a + i * m * k, lda: lda,
                       b: b + (bShared ? 0 : i * k * n), ldb: ldb,
                       c: c + i * m * n, ldc: n)
        }
    }
}

extension Variable {
    /// op(self) · op(other); see `Ops.matmul` for shapes. A linear layer with an HF weight
    /// [out, in] is `x.matmul(w, transposeB: true)`.
    public func matmul(_ other: Variable, transposeA: Bool = false, transposeB: Bool = false) -> Variable {
        let (a, b) = (self, other)
        return record(Ops.matmul(a.value, b.value, transposeA: transposeA, transposeB: transposeB),
                      inputs: [a, b]) { g, sink in
            let (da, db) = Ops.matmulBackward(a.value, b.value, transposeA: transposeA, transposeB: transposeB,
                                              gradient: g, needA: a.requiresGrad, needB: b.requiresGrad)
            if let da { sink.add(da, to: a) }
            if let db { sink.add(db, to: b) }
        }
    }
}
