import CLEXEval
import Foundation

/// The demo's markdown report: the table, the plot, and whether the paper's claim held.
public enum DemoReport {
    /// The claim as the issue states it: CLEX at 4L within 5% of its own perplexity at L, and at
    /// 8L and 16L better than PI, YaRN and plain RoPE (ALiBi reported beside).
    public static func claimLines(_ report: PerplexityReport, window L: Int) -> [String] {
        func ppl(_ prefix: String, _ n: Int) -> Double? {
            guard let m = report.methods.first(where: { $0.hasPrefix(prefix) }) else { return nil }
            return report.cell(method: m, length: n)?.measurement?.perplexity
        }
        var lines: [String] = []
        if let a = ppl("CLEX", L), let b = ppl("CLEX", 4 * L) {
            lines.append(String(format: "- CLEX at 4L: %.3f vs %.3f at L (ratio %.3f; claim ≤ 1.05): %@", b, a, b / a,
                                b / a <= 1.05 ? "holds" : "does not hold"))
        }
        for k in [8, 16] {
            guard let c = ppl("CLEX", k * L) else { continue }
            let rivals = ["PI", "YaRN", "RoPE"].compactMap { name in ppl(name, k * L).map { (name, $0) } }
            let beaten = rivals.filter { c < $0.1 }.map(\.0)
            let lost = rivals.filter { c >= $0.1 }.map { String(format: "%@ %.3f", $0.0, $0.1) }
            lines.append(String(format: "- CLEX at %dL: %.3f; beats %@", k, c, beaten.isEmpty ? "none" : beaten.joined(separator: ", "))
                         + (lost.isEmpty ? " — claim holds" : "; not \(lost.joined(separator: ", ")) — claim does not hold"))
        }
        return lines
    }

    /// The markdown text.
    public static func markdown(_ report: PerplexityReport, plan: DemoPlan, seconds: Double) -> String {
        """
        # CLEX demo: train short, test long (Shakespeare, CPU)

        Model: \(report.model). Plain-RoPE pretraining on windows of L = \(plan.window) byte tokens,
        \(plan.batch) sequences per step, for \(plan.baseSteps) steps; then \(plan.continueSteps) more steps under each
        method (PI and YaRN with factor \(plan.factor), CLEX with T = \(plan.factor)) on sequences of
        \(plan.continueLength) tokens (\(plan.continueLength / plan.window)L), the same tokens per step; ALiBi trained from scratch
        on windows of L for \(plan.baseSteps + plan.continueSteps) steps. Evaluated on held-out plays (\(plan.heldOut.joined(separator: ", "))),
        protocol: \(report.protocolLabel), at most \(plan.maxWindows) windows per length. Wall time \(Int(seconds)) s.

        ```
        \(report.table())
        ```

        ![perplexity vs length](ppl.svg)

        ## The paper's claim at this scale
        \(claimLines(report, window: plan.window).joined(separator: "\n"))
        """
    }
}
