import CLEXTensor

/// y = x·Wᵀ (or y += x·Wᵀ) over stored weights of any element type, on the worker team: the one
/// place inference multiplies by a weight matrix.
///
/// - Quantised weights: the activations are prepared once per step (8-bit blocks, ggml's
///   `vec_dot_type` pairing) and the C kernels (`CLEXKernels`) read the stored blocks where they
///   lie — a decoding step streams each matrix once; a prefill step runs the kernels' tiled
///   integer GEMM. Rows are split across the team.
/// - Float32 weights: decoding steps use the same kernels (Float32 activations); prefill steps
///   call OpenBLAS's sgemm on the stored elements directly.
/// - F16/BF16 weights: decoding as above; prefill widens panels of rows to Float32 and calls sgemm
///   on each (cheaper than the kernels once a step has more than a few tokens).
///
/// With `.float32` activation precision, quantised weights are widened to Float32 (a few rows at a
/// time when decoding, panels into sgemm when prefilling), so the result equals the
/// dequantise-then-Float32 computation up to summation order.
final class TypedLinear {
    let team: WorkerTeam
    let precision: ActivationPrecision
    /// Activations prepared per format, reused across steps.
    private var prepared: [ElementType.Activations: PreparedActivations] = [:]
    /// Float32 panel for the F16/BF16 prefill path.
    private var panel = Tensor(zeros: [0])

    /// Rows per team chunk are a multiple of this: whole row blocks of the decoding kernels, and
    /// whole unpacked tiles of the prefill kernels (48 rows for the blocks of 32).
    static func rowQuantum(tokens: Int) -> Int { tokens <= LlamaModel.decodeTokenLimit ? 16 : 48 }
    /// Rows of an F16/BF16 matrix widened per sgemm call.
    static let panelRows = 256

    init(team: WorkerTeam, precision: ActivationPrecision) {
        self.team = team
        self.precision = precision
    }

    /// Whether a step of `tokens` rows multiplies `type` through sgemm (Float32 storage, or
    /// panels widened to it) rather than the C kernels.
    func usesSGEMM(_ type: ElementType, tokens: Int) -> Bool {
        tokens > LlamaModel.decodeTokenLimit && (!type.isQuantized || precision == .float32)
    }

    /// For each part: y (+)= x·Wᵀ, x [T, K] (row stride K), W [N, K], y [T, ldy] written at
    /// columns 0..<N. All weights must have K columns.
    func multiply(_ x: UnsafePointer<Float>, tokens: Int,
                  _ parts: [(weight: Weight, output: UnsafeMutablePointer<Float>, ldy: Int)], accumulate: Bool) {
        guard tokens > 0, let k = parts.first?.weight.columns else { return }
        precondition(parts.allSatisfy { $0.weight.columns == k && $0.weight.shape.count == 2 },
                     "TypedLinear: weights of \(parts.map(\.weight.shape)) for inputs of \(k) columns")
        var kernelParts: [(weight: Weight, output: UnsafeMutablePointer<Float>, ldy: Int)] = []
        for part in parts {
            if usesSGEMM(part.weight.type, tokens: tokens) {
                sgemm(x, tokens: tokens, part.weight, part.output, ldy: part.ldy, accumulate: accumulate)
            } else {
                kernelParts.append(part)
            }
        }
        guard !kernelParts.isEmpty else { return }
        var inputs: [PreparedActivations] = []
        for part in kernelParts {
            let format = format(of: part.weight.type)
            let p = prepared[format] ?? PreparedActivations()
            prepared[format] = p
            if !inputs.contains(where: { $0 === p }) {
                p.prepare(x, tokens: tokens, k: k, for: part.weight.type, precision: precision)
                inputs.append(p)
            }
        }
        // Rows of all parts split together into chunks of whole row tiles.
        var starts = [0]
        for p in kernelParts { starts.append(starts.last! + p.weight.rows) }
        let total = starts.last!
        let quantum = Self.rowQuantum(tokens: tokens)
        let quanta = (total + quantum - 1) / quantum
        // Decoding streams each matrix once: a few long chunks per thread keep the kernels'
        // prefetching ahead of the reads. Prefill chunks are whole tiles times all tokens; a few
        // per thread balance a descheduled thread.
        let chunks = max(1, min(quanta, 4 * team.threadCount))
        let parts = kernelParts
        let sources = parts.map { prepared[format(of: $0.weight.type)]! }
        team.forEachChunk(chunks) { c in
            let lo = min(total, quanta * c / chunks * quantum)
            let hi = min(total, quanta * (c + 1) / chunks * quantum)
            for (i, p) in parts.enumerated() {
                let from = max(lo, starts[i]), to = min(hi, starts[i + 1])
                if from < to {
                    p.weight.multiply(rows: (from - starts[i])..<(to - starts[i]), sources[i], into: p.output, ldy: p.ldy,
                                      accumulate: accumulate)
                }
            }
        }
    }

    /// The activation format the kernels read for `type` at this precision.
    private func format(of type: ElementType) -> ElementType.Activations {
        precision == .float32 ? .float32 : type.activations
    }

    /// The sgemm path: Float32 weights multiplied where they lie, F16/BF16 through panels.
    private func sgemm(_ x: UnsafePointer<Float>, tokens: Int, _ w: Weight, _ y: UnsafeMutablePointer<Float>, ldy: Int,
                       accumulate: Bool) {
        let (n, k) = (w.rows, w.columns)
        if w.type == .f32 {
            BLAS.sgemm(transA: false, transB: true, m: tokens, n: n, k: k, a: x, lda: k,
                       b: w.bytes.assumingMemoryBound(to: Float.self), ldb: k, beta: accumulate ? 1 : 0, c: y, ldc: ldy)
            return
        }
        let rows = min(n, Self.panelRows)
        if panel.count < rows * k { panel = Tensor(zeros: [rows * k]) }
        var start = 0
        while start < n {
            let end = min(n, start + rows)
            w.dequantizeRows(start..<end, into: panel.pointer)
            BLAS.sgemm(transA: false, transB: true, m: tokens, n: end - start, k: k, a: x, lda: k, b: panel.pointer, ldb: k,
                       beta: accumulate ? 1 : 0, c: y + start, ldc: ldy)
            start = end
        }
    }
}
