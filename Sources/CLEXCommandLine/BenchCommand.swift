import CLEXBench
import CLEXModel
import Foundation

/// `clex bench kernels`, `clex bench infer` and `clex bench train`.
enum BenchCommand {
    static let common = [OptionSpec("--quick", value: nil), OptionSpec("--json", value: "FILE"), CommandSpec.threadsOption]
    static let kernelsSpec = CommandSpec("bench kernels", usage: "usage: clex bench kernels [--quick] [--json FILE] [-t N]", options: common)
    static let trainSpec = CommandSpec("bench train", usage: "usage: clex bench train [--quick] [--json FILE] [-t N]", options: common)
    static let inferSpec = CommandSpec("bench infer",
                                       usage: "usage: clex bench infer --model FILE [--weights W] [--activations A] [-ctk T] [-ctv T] [--prefill N,…] [--prefill-depths D,…] [--contexts N,…] [--quick] [--json FILE] [-t N]",
                                       options: common + CommandSpec.weightsOptions + CacheTypeOption.options + [
                                           OptionSpec("--model", ["-m"], value: "FILE"), OptionSpec("--prefill", value: "N,…"), OptionSpec("--prefill-depths", value: "D,…"),
                                           OptionSpec("--contexts", value: "N,…"), OptionSpec("--decode-tokens", value: "N"),
                                       ])
    static let kernelsCommand = Command(spec: kernelsSpec, help: help, run: kernels)
    static let inferCommand = Command(spec: inferSpec, help: help, run: infer)
    static let trainCommand = Command(spec: trainSpec, help: help, run: train)

    static let help = """
    \(kernelsSpec.usage)
    \(inferSpec.usage)
    \(trainSpec.usage)

      kernels       every kernel beside raw sgemm and a memory copy (about a minute)
      infer         prefill tokens/s at 512 and 2048 tokens beside sgemm (FLOPs per token → an
                    MFU-like ratio), decode tokens/s at context 128 and 2048 beside a memory copy
                    (bytes read per token → a bandwidth ratio); about a minute for SmolLM2-135M
      train         training tokens/s and MFU (model FLOPs/s ÷ sgemm rate of this run) of the
                    small preset at N = 256 and 1024, plain RoPE and CLEX (T = 16) side by side
      --model FILE  the checkpoint for infer (GGUF, safetensors or llama2.c)
      --prefill N,…  infer's prompt lengths (default 512,2048)
      --prefill-depths D,… also time the first prompt length after D cached tokens (llama-bench -d)
      --contexts N,… infer's decode contexts (default 128,2048)
      --decode-tokens N  tokens decoded per context (default 64)
""" + "\n" + WeightsOption.help + "\n" + CacheTypeOption.help + """

      --quick       short timings and small sizes (seconds instead of about a minute)
      --json FILE   also write the results as JSON to FILE (atomically)
      -t, --threads N  threads for the engine and OpenBLAS, 1 … 1024 (default: every core); the
                    count used is printed with the results
    """

    static func kernels(_ args: Arguments) throws -> Int32 {
        let json = try jsonPath(args)
        let report = KernelBenchmarks(quick: args.flag("--quick")).run { row in
            let ratio = row.ratio.map { String(format: "  %.2f× %@", $0, row.baseline ?? "") } ?? ""
            progress("\(row.op) \(row.shape): " + String(format: "%.3f ms, %.1f ", row.milliseconds, row.rate)
                     + row.unit + ratio)
        }
        return try finish(table: report.table(), json: json, save: report.save(to:))
    }

    static func infer(_ args: Arguments) throws -> Int32 {
        let modelPath = try args.required("--model")
        let json = try jsonPath(args)
        let weights = try WeightsOption(args)
        var benchmark = InferenceBenchmark(quick: args.flag("--quick"))
        benchmark.precision = weights.precision
        benchmark.cacheTypes = try CacheTypeOption.parse(args)
        if let list = try args.integers("--prefill", in: 1...ModelRunOptions.tokenLimit) { benchmark.prefillLengths = list }
        if let list = try args.integers("--prefill-depths", in: 1...ModelRunOptions.tokenLimit) { benchmark.prefillDepths = list }
        if let list = try args.integers("--contexts", in: 1...ModelRunOptions.tokenLimit) { benchmark.decodeContexts = list }
        benchmark.decodeTokens = try args.int("--decode-tokens", benchmark.decodeTokens, in: 1...100_000)
        guard FileManager.default.fileExists(atPath: modelPath) else { throw InputError("--model: \(modelPath) does not exist") }
        let loaded = try ModelLoader.load(modelPath)
        let name = (modelPath as NSString).lastPathComponent
        let report = try benchmark.run(model: try weights.apply(to: loaded.model), modelName: name) { row in
            let ratio = row.ratio.map { String(format: "  ratio %.2f", $0) } ?? ""
            progress("\(row.kind) \(row.what): " + String(format: "%.2f ms, %.1f ", row.milliseconds, row.rate)
                     + row.unit + ratio + (row.note.map { "  (\($0))" } ?? ""))
        }
        return try finish(table: report.table(), json: json, save: report.save(to:))
    }

    static func train(_ args: Arguments) throws -> Int32 {
        let json = try jsonPath(args)
        let report = try TrainingBenchmark(quick: args.flag("--quick")).run { row in
            let ratio = row.ratio.map { String(format: "  MFU %.2f", $0) } ?? ""
            progress("\(row.op) \(row.shape): " + String(format: "%.1f ms, %.1f ", row.milliseconds, row.rate)
                     + row.unit + ratio + (row.note.map { "  (\($0))" } ?? ""))
        }
        return try finish(table: report.table(), json: json, save: report.save(to:))
    }

    /// Prints a benchmark's table and, with `--json FILE`, writes its report there.
    static func finish(table: String, json: String?, save: (URL) throws -> Void) throws -> Int32 {
        print("\n" + table)
        if let json {
            try save(URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
        return 0
    }

    /// `--json FILE`, checked writable before the benchmark runs.
    static func jsonPath(_ args: Arguments) throws -> String? {
        guard let path = args.string("--json") else { return nil }
        try OutputLocation.requireWritable(file: path, flag: "--json")
        return path
    }

    private static func progress(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
