import CLEXBench
import Foundation

/// `clex bench kernels`.
enum BenchCommand {
    static let help = """
    usage: clex bench kernels [--quick] [--json FILE]

      --quick       short timings and small shapes (seconds instead of about a minute)
      --json FILE   also write the results as JSON to FILE (atomically)
    """

    static func run(_ args: [String]) throws -> Int32 {
        guard let what = args.first else { throw UsageError("bench needs a target: kernels") }
        if what == "--help" || what == "-h" { print(help); return 0 }
        guard what == "kernels" else { throw UsageError("unknown benchmark '\(what)' (known: kernels)") }
        var quick = false
        var json: String?
        var rest = args.dropFirst()[...]
        while let flag = rest.popFirst() {
            switch flag {
            case "--quick": quick = true
            case "--json":
                guard let path = rest.popFirst() else { throw UsageError("--json needs a file name") }
                json = path
            case "--help", "-h": print(help); return 0
            default: throw UsageError("unknown option '\(flag)' for bench kernels")
            }
        }
        let bench = KernelBenchmarks(quick: quick)
        let report = bench.run { row in
            let ratio = row.ratio.map { String(format: "  %.2f× %@", $0, row.baseline ?? "") } ?? ""
            let line = "\(row.op) \(row.shape): " + String(format: "%.3f ms, %.1f ", row.milliseconds, row.rate)
                + row.unit + ratio + "\n"
            FileHandle.standardError.write(line.data(using: .utf8)!)
        }
        print("\n" + report.table())
        if let json {
            try report.save(to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
        return 0
    }
}
