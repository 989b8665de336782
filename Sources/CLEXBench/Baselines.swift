import CLEXTensor
import Foundation

/// Reference rates measured in the same run as the kernels they judge. Their buffers are plain
/// allocations, not pooled tensors, so they go back to the system when a baseline returns (a
/// benchmark's peak resident set then counts the model, not them).
public enum Baselines {
    /// Raw `cblas_sgemm` GFLOP/s for C[M,N] = A[M,K]·B[N,K]ᵀ (the linear-layer form) on
    /// preallocated buffers.
    public static func sgemmRate(m: Int, n: Int, k: Int, minSeconds: Double) -> (Timing, Double) {
        let a = Buffer(count: m * k, value: 0.5), b = Buffer(count: n * k, value: 0.25), c = Buffer(count: m * n, value: 0)
        let t = withExtendedLifetime((a, b, c)) {
            Timing.measure(minSeconds: minSeconds) {
                BLAS.sgemm(transA: false, transB: true, m: m, n: n, k: k,
                           a: a.pointer, lda: k, b: b.pointer, ldb: k, c: c.pointer, ldc: n)
            }
        }
        return (t, 2 * Double(m) * Double(n) * Double(k) / t.median / 1e9)
    }

    /// Memory bandwidth in GB/s (bytes read + written) of a parallel copy of `megabytes` MB:
    /// the bound for element-wise kernels.
    public static func copyBandwidth(megabytes: Int = 64, minSeconds: Double) -> (Timing, Double) {
        let n = megabytes * 1_000_000 / 4
        let src = Buffer(count: n, value: 1), dst = Buffer(count: n, value: 0)
        let t = withExtendedLifetime((src, dst)) {
            Timing.measure(minSeconds: minSeconds) {
                let (s, d) = (src.pointer, dst.pointer)
                Parallel.forEachChunk(n, costPerItem: 64) { r in
                    (d + r.lowerBound).update(from: s + r.lowerBound, count: r.count)
                }
            }
        }
        return (t, 8 * Double(n) / t.median / 1e9)
    }

    /// Floats allocated and freed directly (large ones are the system's pages, returned on free).
    private final class Buffer {
        let pointer: UnsafeMutablePointer<Float>
        init(count: Int, value: Float) {
            pointer = .allocate(capacity: count)
            pointer.initialize(repeating: value, count: count)
        }
        deinit { pointer.deallocate() }
    }
}
