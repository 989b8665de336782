import CLEXModel

/// Positional methods given on a command line as semicolon-separated groups of positional flags
/// (llama.cpp's vocabulary, `PositionalConfiguration.applyingCommandLine`), e.g.
/// `none; --rope-scaling linear --rope-scale 4; --rope-scaling clex --clex-max-factor 16`.
///
/// Within a group: `none` alone means plain RoPE (`--rope-scaling none`); `default` means the
/// checkpoint's own method (as does a specification without any group); empty groups are
/// skipped; `--ctx-train L` sets the method's L (the window the model was trained on: dynamic
/// NTK's threshold, CLEX's L, the default original length of yarn/llama3) before the other flags
/// apply, default the checkpoint's context length. Flags are separated by white space.
public enum MethodGroups {
    /// The flag that sets L.
    public static let contextFlag = "--ctx-train"

    /// The methods of `specification` for `loaded`, named by `PositionalConfiguration.summary`
    /// (made unique). Every group is made once here, so invalid flags fail now, naming the group.
    public static func parse(_ specification: String, loaded: LoadedModel, seed: UInt64 = 0) throws -> [EvaluationMethod] {
        var groups = specification.split(separator: ";")
            .map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init) }
            .filter { !$0.isEmpty }
        if groups.isEmpty { groups = [[]] }
        var methods: [EvaluationMethod] = []
        var used: [String: Int] = [:]
        for words in groups {
            let text = words.joined(separator: " ")
            var flags = words == ["none"] ? ["--rope-scaling", "none"] : (words == ["default"] ? [] : words)
            var model = loaded
            if let i = flags.firstIndex(where: { $0 == contextFlag || $0.hasPrefix(contextFlag + "=") }) {
                let value: String
                if flags[i].contains("=") {
                    value = String(flags[i].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[1])
                    flags.remove(at: i)
                } else {
                    guard i + 1 < flags.count else { throw EvaluationError("method \"\(text)\": \(contextFlag) expects a value") }
                    value = flags[i + 1]
                    flags.removeSubrange(i...(i + 1))
                }
                guard let L = Int(value), L >= 1 else {
                    throw EvaluationError("method \"\(text)\": \(contextFlag) expects a positive integer, found \"\(value)\"")
                }
                model.positional.contextLength = L
            }
            let configuration: PositionalConfiguration
            do {
                let (made, remaining) = try model.positionalMethod(overrides: flags, seed: seed)
                guard remaining.isEmpty else {
                    throw EvaluationError("method \"\(text)\": unknown flag(s) \(remaining.joined(separator: " ")) (expected positional flags such as --rope-scaling, --rope-scale, --yarn-orig-ctx, --clex-max-factor, \(contextFlag))")
                }
                configuration = made.configuration
            } catch let error as ConfigurationError {
                throw EvaluationError("method \"\(text)\": \(error)")
            }
            var name = words.isEmpty || words == ["default"]
                ? "checkpoint: " + configuration.summary()
                : configuration.summary(referenceBase: loaded.positional.base)
            used[name, default: 0] += 1
            if let count = used[name], count > 1 { name += " #\(count)" }
            let overrides = flags
            methods.append(EvaluationMethod(name: name) { try model.positionalMethod(overrides: overrides, seed: seed).method })
        }
        return methods
    }
}
