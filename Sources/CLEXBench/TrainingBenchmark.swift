import CLEXModel
import CLEXTensor
import CLEXTrain
import Foundation

/// `clex bench train`: training throughput of the small preset (byte vocabulary) at two
/// sequence lengths, as tokens/s and MFU (model FLOPs per second ÷ this machine's sgemm rate,
/// measured in the same run), for plain RoPE and for CLEX (T = 16) side by side.
///
/// Model FLOPs per token follow the PaLM convention: 6 × (weights used in products, LM head
/// included) + 6 × layers × N × width for the causal attention products.
public struct TrainingBenchmark {
    public var lengths: [Int]
    public var tokensPerStep: Int
    public var steps: Int

    public init(quick: Bool) {
        lengths = quick ? [64] : [256, 1024]
        tokensPerStep = quick ? 512 : 8192
        steps = quick ? 2 : 4
    }

    public func run(progress: (BenchmarkRow) -> Void) throws -> BenchmarkReport {
        var report = BenchmarkReport(blasCore: BLAS.coreName, threads: Parallel.threadCount, cpu: cpuModelName())
        let (sgemmTiming, sgemmRate) = Baselines.sgemmRate(m: 2048, n: 1024, k: 384, minSeconds: 0.5)
        let base = BenchmarkRow(op: "baseline: cblas_sgemm", shape: "2048×1024×384", milliseconds: sgemmTiming.median * 1e3,
                                rate: sgemmRate, unit: "GFLOP/s", ratio: nil, baseline: nil, note: nil)
        report.rows.append(base)
        progress(base)
        for n in lengths {
            var stepTimes: [String: Double] = [:]
            for method in ["rope", "clex"] {
                let config = ModelPreset.small.configuration(vocabularySize: 257, context: n, eosTokenID: 256)
                let model = LlamaModel(configuration: config, parameters: LlamaParameters(randomFor: config, seed: 1))
                let scheme: PositionalScheme = method == "rope" ? .none : .clex(CLEXParameters(maxFactor: 16))
                let positional = try PositionalConfiguration(model: config, scheme: scheme).makeMethod(seed: 1)
                var options = TrainingOptions()
                options.sequenceLength = n
                options.batchSize = max(1, tokensPerStep / n)
                options.steps = steps + 1
                options.validateEvery = 0
                var rng = SeededGenerator(seed: 3)
                let data = (0..<(options.batchSize * n * (steps + 2) + 1)).map { _ in Int32(rng.next() % 256) }
                let trainer = try Trainer(model: model, positional: positional, training: data, validation: [],
                                          options: options, output: nil)
                var times: [Double] = []
                var last = ContinuousClock.now
                try trainer.run { _ in
                    let now = ContinuousClock.now
                    times.append(Double((now - last).components.attoseconds) * 1e-18 + Double((now - last).components.seconds))
                    last = now
                }
                let seconds = times.dropFirst().reduce(0, +) / Double(max(times.count - 1, 1))
                stepTimes[method] = seconds
                let tokens = Double(options.batchSize * n)
                let matmulWeights = Double(config.parameterCount - config.layerCount * 2 * config.hiddenSize - config.hiddenSize)
                let flopsPerToken = 6 * matmulWeights + 6 * Double(config.layerCount * n * config.hiddenSize)
                let rate = flopsPerToken * tokens / seconds / 1e9
                var row = BenchmarkRow(op: "train step, \(method == "rope" ? "plain RoPE" : "CLEX T=16")",
                                       shape: "small, N=\(n), \(options.batchSize)×\(n) tokens",
                                       milliseconds: seconds * 1e3, rate: rate, unit: "GFLOP/s",
                                       ratio: rate / sgemmRate, baseline: "sgemm (MFU)",
                                       note: String(format: "%.0f tokens/s", tokens / seconds))
                if method == "clex", let rope = stepTimes["rope"] {
                    row.note! += String(format: ", step time %.3f× plain RoPE's", seconds / rope)
                }
                report.rows.append(row)
                progress(row)
            }
        }
        return report
    }
}
