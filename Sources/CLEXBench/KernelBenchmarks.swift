import CLEXTensor
import Foundation

/// `clex bench kernels`: every op of the engine on the shapes this project uses (a SmolLM2-sized
/// model: width 576, MLP 1536, vocabulary 49152, 9 query / 3 key-value heads of dim 64), each
/// beside a baseline measured in the same run: raw `cblas_sgemm` for GEMM-bound ops, a parallel
/// memory copy for bandwidth-bound ones.
public struct KernelBenchmarks {
    /// Seconds of repeated calls per measurement.
    public var minSeconds: Double
    /// Sequence lengths for the attention cases.
    public var attentionLengths: [Int]
    /// Token count for the GEMM-shaped and element-wise cases.
    public var tokens: Int

    /// The full benchmark (about a minute) or a quick pass (seconds) for smoke tests.
    public init(quick: Bool) {
        minSeconds = quick ? 0.05 : 0.5
        attentionLengths = quick ? [256] : [8192, 2048]
        tokens = quick ? 256 : 2048
    }

    /// Runs every case, printing each row as it completes through `progress`.
    public func run(progress: (BenchmarkRow) -> Void) -> BenchmarkReport {
        var report = BenchmarkReport(blasCore: BLAS.coreName, threads: Parallel.threadCount, cpu: cpuModelName())
        func add(_ row: BenchmarkRow) {
            report.rows.append(row)
            progress(row)
        }
        // Attention first, so the peak-RSS delta it reports is its own.
        for row in attentionRows() { add(row) }
        let (copyTiming, copyRate) = Baselines.copyBandwidth(minSeconds: minSeconds)
        add(BenchmarkRow(op: "baseline: parallel copy", shape: "64 MB", milliseconds: copyTiming.median * 1e3,
                         rate: copyRate, unit: "GB/s", ratio: nil, baseline: nil, note: nil))
        var gemmRates: [String: Double] = [:]
        for (m, n, k) in gemmShapes {
            let (t, rate) = Baselines.sgemmRate(m: m, n: n, k: k, minSeconds: minSeconds)
            let key = "\(m)×\(n)×\(k)"
            gemmRates[key] = rate
            add(BenchmarkRow(op: "baseline: cblas_sgemm", shape: key, milliseconds: t.median * 1e3,
                             rate: rate, unit: "GFLOP/s", ratio: nil, baseline: nil, note: nil))
        }
        for (m, n, k) in gemmShapes {
            let key = "\(m)×\(n)×\(k)"
            for row in matmulRows(m: m, n: n, k: k, baseline: ("sgemm " + key, gemmRates[key]!)) { add(row) }
        }
        let reference = gemmRates.values.max() ?? 1
        report.rows = report.rows.map { row in
            guard row.op.hasPrefix("attention"), row.unit == "GFLOP/s" else { return row }
            var r = row
            r.ratio = r.rate / reference
            r.baseline = "best sgemm of this run"
            return r
        }
        for row in pointwiseRows(copyRate: copyRate) { add(row) }
        return report
    }

    var gemmShapes: [(Int, Int, Int)] {
        tokens == 2048 ? [(512, 512, 512), (2048, 1536, 576), (2048, 49152, 576)]
                       : [(256, 256, 256), (tokens, 1536, 576)]
    }

    /// A row for a FLOP-bound measurement.
    func flopRow(_ op: String, _ shape: String, _ t: Timing, flops: Double, baseline: (String, Double)?) -> BenchmarkRow {
        let rate = flops / t.median / 1e9
        return BenchmarkRow(op: op, shape: shape, milliseconds: t.median * 1e3, rate: rate, unit: "GFLOP/s",
                            ratio: baseline.map { rate / $0.1 }, baseline: baseline?.0, note: nil)
    }

    /// A row for a bandwidth-bound measurement (`bytes` read + written per call).
    func byteRow(_ op: String, _ shape: String, _ t: Timing, bytes: Double, copyRate: Double) -> BenchmarkRow {
        let rate = bytes / t.median / 1e9
        return BenchmarkRow(op: op, shape: shape, milliseconds: t.median * 1e3, rate: rate, unit: "GB/s",
                            ratio: rate / copyRate, baseline: "parallel copy", note: nil)
    }

    func matmulRows(m: Int, n: Int, k: Int, baseline: (String, Double)) -> [BenchmarkRow] {
        var rng = SeededGenerator(seed: 1)
        let x = Tensor.randomNormal([m, k], generator: &rng)
        let w = Tensor.randomNormal([n, k], generator: &rng)
        let shape = "\(m)×\(n)×\(k)"
        let flops = 2 * Double(m) * Double(n) * Double(k)
        let fwd = Timing.measure(minSeconds: minSeconds) { _ = Ops.matmul(x, w, transposeB: true) }
        let g = Tensor.randomNormal([m, n], generator: &rng)
        let bwd = Timing.measure(minSeconds: minSeconds) {
            _ = Ops.matmulBackward(x, w, transposeA: false, transposeB: true, gradient: g)
        }
        return [flopRow("matmul x·Wᵀ", shape, fwd, flops: flops, baseline: baseline),
                flopRow("matmul backward (dx, dW)", shape, bwd, flops: 2 * flops, baseline: baseline)]
    }
}
