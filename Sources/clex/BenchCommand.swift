import CLEXBench
import CLEXModel
import Foundation

/// `clex bench kernels`, `clex bench infer` and `clex bench train`.
enum BenchCommand {
    static let help = """
    usage: clex bench kernels [--quick] [--json FILE]
           clex bench infer --model FILE [--weights W] [--activations A] [--prefill N,…] [--contexts N,…] [--quick] [--json FILE]
           clex bench train [--quick] [--json FILE]

      kernels       every kernel beside raw sgemm and a memory copy (about a minute)
      infer         prefill tokens/s at 512 and 2048 tokens beside sgemm (FLOPs per token → an
                    MFU-like ratio), decode tokens/s at context 128 and 2048 beside a memory copy
                    (bytes read per token → a bandwidth ratio); about a minute for SmolLM2-135M
      train         training tokens/s and MFU (model FLOPs/s ÷ sgemm rate of this run) of the
                    small preset at N = 256 and 1024, plain RoPE and CLEX (T = 16) side by side
      --model FILE  the checkpoint for infer (GGUF, safetensors or llama2.c)
      --prefill N,…  infer's prompt lengths (default 512,2048)
      --contexts N,… infer's decode contexts (default 128,2048)
      --decode-tokens N  tokens decoded per context (default 64)
""" + WeightsOption.help + """

      --quick       short timings and small sizes (seconds instead of about a minute)
      --json FILE   also write the results as JSON to FILE (atomically)
    """

    static func run(_ args: [String]) throws -> Int32 {
        guard let what = args.first else { throw UsageError("bench needs a target: kernels, infer or train") }
        if what == "--help" || what == "-h" { print(help); return 0 }
        if args.contains("--help") || args.contains("-h") { print(help); return 0 }
        var options = try Arguments(Array(args.dropFirst()), switches: ["--quick"])
        let quick = options.flag("--quick")
        let json = options.string("--json")
        switch what {
        case "kernels":
            try options.rejectUnknown()
            guard options.positional.isEmpty else { throw UsageError("unexpected argument '\(options.positional[0])' for bench kernels") }
            let report = KernelBenchmarks(quick: quick).run { row in
                let ratio = row.ratio.map { String(format: "  %.2f× %@", $0, row.baseline ?? "") } ?? ""
                progress("\(row.op) \(row.shape): " + String(format: "%.3f ms, %.1f ", row.milliseconds, row.rate)
                         + row.unit + ratio)
            }
            print("\n" + report.table())
            if let json {
                try report.save(to: URL(fileURLWithPath: json))
                print("wrote \(json)")
            }
        case "infer":
            guard let modelPath = options.string("--model") else { throw UsageError("bench infer needs --model FILE") }
            let weights = try WeightsOption(&options)
            var benchmark = InferenceBenchmark(quick: quick)
            benchmark.precision = weights.precision
            if let list = options.string("--prefill") { benchmark.prefillLengths = try EvalCommand.integers(list, flag: "--prefill") }
            if let list = options.string("--contexts") { benchmark.decodeContexts = try EvalCommand.integers(list, flag: "--contexts") }
            benchmark.decodeTokens = try options.int("--decode-tokens", benchmark.decodeTokens)
            guard benchmark.decodeTokens >= 1 && benchmark.decodeTokens <= 100_000 else {
                throw UsageError("--decode-tokens expects 1 … 100000, got \(benchmark.decodeTokens)")
            }
            try options.rejectUnknown()
            guard options.positional.isEmpty else { throw UsageError("unexpected argument '\(options.positional[0])' for bench infer") }
            let loaded = try ModelLoader.load(modelPath)
            let name = (modelPath as NSString).lastPathComponent
            let report = try benchmark.run(model: try weights.apply(to: loaded.model), modelName: name) { row in
                let ratio = row.ratio.map { String(format: "  ratio %.2f", $0) } ?? ""
                progress("\(row.kind) \(row.what): " + String(format: "%.2f ms, %.1f ", row.milliseconds, row.rate)
                         + row.unit + ratio + (row.note.map { "  (\($0))" } ?? ""))
            }
            print("\n" + report.table())
            if let json {
                try report.save(to: URL(fileURLWithPath: json))
                print("wrote \(json)")
            }
        case "train":
            try options.rejectUnknown()
            guard options.positional.isEmpty else { throw UsageError("unexpected argument '\(options.positional[0])' for bench train") }
            let report = try TrainingBenchmark(quick: quick).run { row in
                let ratio = row.ratio.map { String(format: "  MFU %.2f", $0) } ?? ""
                progress("\(row.op) \(row.shape): " + String(format: "%.1f ms, %.1f ", row.milliseconds, row.rate)
                         + row.unit + ratio + (row.note.map { "  (\($0))" } ?? ""))
            }
            print("\n" + report.table())
            if let json {
                try report.save(to: URL(fileURLWithPath: json))
                print("wrote \(json)")
            }
        default:
            throw UsageError("unknown benchmark '\(what)' (known: kernels, infer, train)")
        }
        return 0
    }

    private static func progress(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
