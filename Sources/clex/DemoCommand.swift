import CLEXDemo
import CLEXEval
import Foundation

/// `clex demo`: the paper's experiment at CPU scale (see `DemoPlan`).
enum DemoCommand {
    static let help = """
    usage: clex demo [--quick] [--out DIR] [--texts DIR] [--continue-length N]

      --quick      a smoke run of every stage with tiny budgets (a few minutes); checks the
                   plumbing and the outputs, not the method
      --out DIR    where stages, checkpoints and results go (default demo-out, or demo-quick-out);
                   finished stages are reused and an interrupted one resumes
      --texts DIR  the Shakespeare texts (default cache/assets/shakespeare, from scripts/fetch-assets)
      --continue-length N
                   tokens per sequence of the continuation stage, a multiple of L (default L: train
                   short; 4L is the paper's "CLEX 16k" setting); use a new --out for another value

    Writes DIR/results/ppl.json, ppl.csv, ppl.svg and report.md, and prints the table.
    """

    static func run(_ raw: [String]) throws -> Int32 {
        if raw.contains("--help") || raw.contains("-h") { print(help); return 0 }
        var args = try Arguments(raw, switches: ["--quick"])
        let quick = args.flag("--quick")
        let out = args.string("--out") ?? (quick ? "demo-quick-out" : "demo-out")
        let texts = args.string("--texts") ?? "cache/assets/shakespeare"
        var plan = quick ? DemoPlan.quick : DemoPlan.standard
        if let text = args.string("--continue-length") {
            guard let n = Int(text), n >= plan.window, n % plan.window == 0 else {
                throw UsageError("--continue-length expects a multiple of the window L = \(plan.window), found \"\(text)\"")
            }
            plan.continueLength = n
        }
        try args.rejectUnknown()
        let start = Date()
        let report = try DemoRunner(plan: plan, texts: texts, output: out, log: emit).run()
        let results = (out as NSString).appendingPathComponent("results")
        try FileManager.default.createDirectory(atPath: results, withIntermediateDirectories: true)
        let written = try report.save(to: results)
        let markdown = DemoReport.markdown(report, plan: plan, seconds: Date().timeIntervalSince(start))
        try ReportFile.write(markdown, to: (results as NSString).appendingPathComponent("report.md"))
        emit("\n" + report.table())
        emit(DemoReport.claimLines(report, window: plan.window).joined(separator: "\n"))
        emit("wrote " + (written + [(results as NSString).appendingPathComponent("report.md")]).joined(separator: ", "))
        return 0
    }
}
