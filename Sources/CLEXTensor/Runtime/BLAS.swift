import COpenBLAS
import Foundation

/// The project's only door to OpenBLAS: single-precision GEMM and thread control.
public enum BLAS {
    /// C = alpha · op(A) · op(B) + beta · C for row-major matrices with leading dimensions.
    ///
    /// op(A) is M×K, op(B) is K×N, C is M×N. `lda`, `ldb`, `ldc` are row strides in elements,
    /// so a head's slice of a [tokens, heads·dim] activation can be passed without a copy.
    @inlinable
    public static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                             alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0,
                             c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            // BLAS leaves C scaled by beta; make that explicit so beta = 0 never reads garbage.
            for i in 0..<m {
                let row = c + i * ldc
                for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] }
            }
            return
        }
        cblas_sgemm(CblasRowMajor,
                    transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// OpenBLAS's name for the kernel family it selected at load time (e.g. "SkylakeX", "Prescott").
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// Threads OpenBLAS uses for one call.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    private static let threadLock = NSLock()

    /// Runs `body` with OpenBLAS limited to one thread, so that the caller may issue BLAS calls
    /// from several of its own threads at once (the blocked attention does this). Restores the
    /// previous count afterwards. Calls are serialised so two such scopes never interleave.
    public static func withSingleThread<R>(_ body: () throws -> R) rethrows -> R {
        threadLock.lock()
        defer { threadLock.unlock() }
        let previous = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(previous) }
        return try body()
    }
}
