import CLEXTensor
import Foundation

/// Reference rates measured in the same run as the kernels they judge.
public enum Baselines {
    /// Raw `cblas_sgemm` GFLOP/s for C[M,N] = A[M,K]·B[N,K]ᵀ (the linear-layer form) on
    /// preallocated buffers.
    public static func sgemmRate(m: Int, n: Int, k: Int, minSeconds: Double) -> (Timing, Double) {
        let a = Tensor(shape: [m, k], repeating: 0.5)
        let b = Tensor(shape: [n, k], repeating: 0.25)
        let c = Tensor(zeros: [m, n])
        let t = Timing.measure(minSeconds: minSeconds) {
            BLAS.sgemm(transA: false, transB: true, m: m, n: n, k: k,
                       a: a.pointer, lda: k, b: b.pointer, ldb: k, c: c.pointer, ldc: n)
        }
        return (t, 2 * Double(m) * Double(n) * Double(k) / t.median / 1e9)
    }

    /// Memory bandwidth in GB/s (bytes read + written) of a parallel copy of `megabytes` MB:
    /// the bound for element-wise kernels.
    public static func copyBandwidth(megabytes: Int = 64, minSeconds: Double) -> (Timing, Double) {
        let n = megabytes * 1_000_000 / 4
        let src = Tensor(shape: [n], repeating: 1)
        let dst = Tensor(zeros: [n])
        let t = Timing.measure(minSeconds: minSeconds) {
            let (s, d) = (src.pointer, dst.pointer)
            Parallel.forEachChunk(n, costPerItem: 64) { r in
                (d + r.lowerBound).update(from: s + r.lowerBound, count: r.count)
            }
        }
        return (t, 8 * Double(n) / t.median / 1e9)
    }
}
