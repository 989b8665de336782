import CLEXModel

/// `--clex-prefill split|single`: how a forward over many tokens chooses its rotation
/// (`PrefillRotation`) — ours, or the CLEX reference's one rotation per `model(input_ids)`.
enum PrefillOption {
    static let option = OptionSpec("--clex-prefill", value: "split|single")

    /// The help lines, the description starting at `column` (the command's help layout), with
    /// `forward` saying what one forward reads in the command.
    static func help(column: Int, forward: String) -> String {
        let name = "  --clex-prefill MODE"
        let pad = String(repeating: " ", count: column)
        return name + String(repeating: " ", count: max(column - name.count, 1))
            + "split (default): every token gets the rotation of its own context (a forward is\n"
            + pad + "split where the method's rotation changes: CLEX at multiples of L); single: one\n"
            + pad + "rotation per forward, that of its end, as the CLEX reference's model(input_ids);\n"
            + pad + forward
    }

    /// The mode given, `split` when absent; a usage error for another word.
    static func value(_ args: Arguments) throws -> PrefillRotation {
        let word = try args.choice(option.name, PrefillRotation.split.rawValue, among: PrefillRotation.allCases.map(\.rawValue))
        return PrefillRotation(rawValue: word)!
    }
}
