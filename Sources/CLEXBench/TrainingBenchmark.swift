import CLEXModel
import CLEXTensor
import CLEXTrain
import Foundation

/// `clex bench train`: training throughput of the small preset (byte vocabulary) at two
/// sequence lengths, as tokens/s and MFU (model FLOPs per second ÷ this machine's sgemm rate),
/// for plain RoPE and for CLEX (T = 16) side by side.
///
/// Model FLOPs per token follow the PaLM convention: 6 × (weights used in products, LM head
/// included) + 6 × layers × N × width for the causal attention products.
///
/// Ratios are made robust to a machine whose load changes during the run: each timed step is
/// preceded by a short sgemm measurement and its MFU is taken against that rate, and the plain
/// RoPE and CLEX steps alternate (in alternating order) rather than running one after the other.
/// The reported rates are medians over the steps; CLEX's step-time ratio is that of the totals.
public struct TrainingBenchmark {
    public var lengths: [Int]
    public var tokensPerStep: Int
    public var steps: Int

    public init(quick: Bool) {
        lengths = quick ? [64] : [256, 1024]
        tokensPerStep = quick ? 512 : 8192
        steps = quick ? 2 : 9
    }

    static let methods = ["rope", "clex"]

    public func run(progress: (BenchmarkRow) -> Void) throws -> BenchmarkReport {
        var report = BenchmarkReport(blasCore: BLAS.coreName, threads: Parallel.threadCount, cpu: cpuModelName())
        let baselineSeconds = tokensPerStep >= 4096 ? 0.3 : 0.05
        let (sgemmTiming, sgemmRate) = Baselines.sgemmRate(m: 2048, n: 1024, k: 384, minSeconds: 0.5)
        let base = BenchmarkRow(op: "baseline: cblas_sgemm", shape: "2048×1024×384", milliseconds: sgemmTiming.median * 1e3,
                                rate: sgemmRate, unit: "GFLOP/s", ratio: nil, baseline: nil,
                                note: "also re-measured before every timed step")
        report.rows.append(base)
        progress(base)
        for n in lengths {
            let config = ModelPreset.small.configuration(vocabularySize: 257, context: n, eosTokenID: 256)
            let batch = max(1, tokensPerStep / n)
            let trainers = try Self.methods.map { try makeTrainer(config: config, method: $0, length: n, batch: batch) }
            for trainer in trainers { _ = try trainer.trainStep() }               // warm-up: first-touch allocations
            var seconds = Array(repeating: [Double](), count: trainers.count)
            var utilisation = Array(repeating: [Double](), count: trainers.count)
            let tokens = Double(batch * n)
            let matmulWeights = Double(config.parameterCount - config.layerCount * 2 * config.hiddenSize - config.hiddenSize)
            let flopsPerStep = (6 * matmulWeights + 6 * Double(config.layerCount * n * config.hiddenSize)) * tokens
            for s in 0..<steps {
                let order = s % 2 == 0 ? Array(trainers.indices) : trainers.indices.reversed()
                for i in order {
                    let rate = Baselines.sgemmRate(m: 2048, n: 1024, k: 384, minSeconds: baselineSeconds).1
                    let start = Timing.now()
                    _ = try trainers[i].trainStep()
                    let t = Timing.now() - start
                    seconds[i].append(t)
                    utilisation[i].append(flopsPerStep / t / 1e9 / rate)
                }
            }
            for (i, method) in Self.methods.enumerated() {
                let t = median(seconds[i])
                var note = String(format: "%.0f tokens/s", tokens / t)
                if method == "clex" {
                    // Steps vary by ±15 % on this machine; the ratio of the interleaved totals is
                    // steadier than a median of per-pair ratios.
                    note += String(format: ", step time %.3f× plain RoPE's (total over %d interleaved steps)",
                                   seconds[i].reduce(0, +) / seconds[0].reduce(0, +), steps)
                }
                let row = BenchmarkRow(op: "train step, \(method == "rope" ? "plain RoPE" : "CLEX T=16")",
                                       shape: "small, N=\(n), \(batch)×\(n) tokens", milliseconds: t * 1e3,
                                       rate: flopsPerStep / t / 1e9, unit: "GFLOP/s", ratio: median(utilisation[i]),
                                       baseline: "sgemm (MFU)", note: note)
                report.rows.append(row)
                progress(row)
            }
        }
        return report
    }

    private func makeTrainer(config: LlamaConfiguration, method: String, length n: Int, batch: Int) throws -> Trainer {
        let model = LlamaModel(configuration: config, parameters: LlamaParameters(randomFor: config, seed: 1))
        let scheme: PositionalScheme = method == "rope" ? .none : .clex(CLEXParameters(maxFactor: 16))
        let positional = try PositionalConfiguration(model: config, scheme: scheme).makeMethod(seed: 1)
        var options = TrainingOptions()
        options.sequenceLength = n
        options.batchSize = batch
        options.steps = steps + 1
        options.validateEvery = 0
        var rng = SeededGenerator(seed: 3)
        let data = (0..<(batch * n * (steps + 2) + 1)).map { _ in Int32(rng.next() % 256) }
        return try Trainer(model: model, positional: positional, training: data, validation: [], options: options, output: nil)
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
    }
}
