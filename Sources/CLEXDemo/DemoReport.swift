import CLEXEval
import CLEXTrain
import Foundation

/// The demo's markdown report: the tables, the plot, and which parts of the paper's claim held.
public enum DemoReport {
    /// The claim, per recipe: CLEX at 4L within 5% of its own perplexity at L; at 8L and 16L
    /// better than PI, YaRN, plain RoPE (of the same recipe) and ALiBi; and, on passkey retrieval
    /// past L, better than ALiBi — the paper's argument against ALiBi, which perplexity alone
    /// does not test.
    public static func claimLines(_ results: DemoRunner.Results, plan: DemoPlan) -> [String] {
        let report = results.perplexity, L = plan.window
        var lines: [String] = []
        for recipe in plan.recipes {
            // ALiBi is trained once (from scratch), the others once per recipe.
            func name(_ prefix: String) -> String? {
                report.methods.first { $0.hasPrefix(prefix) && (prefix == "ALiBi" || $0.hasSuffix(" · ref") == (recipe == .reference)) }
            }
            func ppl(_ prefix: String, _ n: Int) -> Double? {
                name(prefix).flatMap { report.cell(method: $0, length: n)?.measurement?.perplexity }
            }
            let tag = recipe == .standard ? "standard recipe" : "reference recipe"
            if let a = ppl("CLEX", L), let b = ppl("CLEX", 4 * L) {
                lines.append(String(format: "- [%@] CLEX at 4L: %.3f vs %.3f at L (ratio %.3f; claim ≤ 1.05): %@", tag, b, a, b / a,
                                    b / a <= 1.05 ? "holds" : "does not hold"))
            }
            for k in [8, 16] {
                guard let c = ppl("CLEX", k * L) else { continue }
                let rivals = ["PI", "YaRN", "RoPE", "ALiBi"].compactMap { r in ppl(r, k * L).map { (r, $0) } }
                let beaten = rivals.filter { c < $0.1 }.map(\.0)
                let lost = rivals.filter { c >= $0.1 }.map { String(format: "%@ %.3f", $0.0, $0.1) }
                lines.append(String(format: "- [%@] CLEX at %dL: %.3f; beats %@", tag, k, c,
                                    beaten.isEmpty ? "none" : beaten.joined(separator: ", "))
                             + (lost.isEmpty ? " — claim holds" : "; not \(lost.joined(separator: ", ")) — claim does not hold"))
            }
            if let passkey = results.passkey, let clex = name("CLEX"), let alibi = name("ALiBi") {
                lines.append("- [\(tag)] " + passkeyLine(passkey, clex: clex, alibi: alibi, window: L))
            }
        }
        return lines
    }

    /// Passkey accuracy past the window: CLEX against ALiBi.
    static func passkeyLine(_ report: PasskeyReport, clex: String, alibi: String, window L: Int) -> String {
        func accuracy(_ method: String) -> Double? {
            let cells = report.cells.filter { $0.method == method && $0.length > L && $0.trials > 0 }
            let trials = cells.reduce(0) { $0 + $1.trials }
            return trials > 0 ? Double(cells.reduce(0) { $0 + $1.correct }) / Double(trials) : nil
        }
        guard let c = accuracy(clex), let a = accuracy(alibi) else { return "passkey past L: no length past L was evaluated" }
        let head = String(format: "passkey past L: %@ %.0f%%, ALiBi %.0f%% of trials", clex, 100 * c, 100 * a)
        if c == 0 && a == 0 { return head + " — neither retrieves at this scale: the claim against ALiBi is not tested here" }
        return head + (c > a ? " — CLEX retrieves where ALiBi does not: claim holds" : " — claim does not hold")
    }

    /// The passkey part of the markdown.
    static func passkeySection(_ passkey: PasskeyReport) -> String {
        """
        ## Passkey retrieval

        Prompts of k·L − \(DemoRunner.passkeyAnswerTokens) tokens, so that prompt and answer fit in k·L.

        ```
        \(passkey.table())
        ```

        ![passkey accuracy](passkey.svg)

        """
    }

    /// The markdown text.
    /// `wallTime`: how long the run took, as `RunTime.description` says it.
    public static func markdown(_ results: DemoRunner.Results, plan: DemoPlan, wallTime: String) -> String {
        let report = results.perplexity
        return """
        # CLEX demo: train short, test long (CPU)

        Model: \(report.model). Plain-RoPE pretraining on windows of L = \(plan.window) byte tokens,
        \(plan.batch) sequences per step, for \(plan.baseSteps) steps; then \(plan.continueSteps) more steps under each
        method (PI and YaRN with factor \(plan.factor), CLEX with T = \(plan.factor)) on sequences of
        \(plan.continueLength) tokens (\(plan.continueLength / plan.window)L), the same tokens per step, once per recipe
        (\(plan.recipes.map(\.rawValue).joined(separator: ", ")); "· ref" marks the PyTorch reference's, see the README's
        Training section); ALiBi trained from scratch on windows of L for \(plan.baseSteps + plan.continueSteps) steps.
        Evaluated on held-out documents (\(results.heldOut.joined(separator: ", "))), protocol: \(report.protocolLabel), at most
        \(plan.maxWindows) windows per length. Wall time \(wallTime).

        ```
        \(report.table())
        ```

        ![perplexity vs length](ppl.svg)

        \(results.passkey.map(passkeySection) ?? "")
        ## The paper's claim at this scale
        \(claimLines(results, plan: plan).joined(separator: "\n"))
        """
    }
}
