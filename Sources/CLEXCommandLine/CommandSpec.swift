import CLEXModel

/// One option a command accepts: its canonical name, the aliases users type (llama.cpp's short
/// forms and names), and the value it takes (nil: a switch).
public struct OptionSpec: Sendable {
    /// The canonical name, e.g. `--max-tokens`.
    public let name: String
    /// Other spellings, e.g. `-n`, `--n-predict`.
    public let aliases: [String]
    /// The value's placeholder in messages (e.g. "N"); nil for a switch.
    public let value: String?

    /// An option taking a value called `value`, or a switch when `value` is nil.
    public init(_ name: String, _ aliases: [String] = [], value: String?) {
        self.name = name
        self.aliases = aliases
        self.value = value
    }

    public var takesValue: Bool { value != nil }
    public var placeholder: String { value ?? "" }
    /// Every spelling, canonical first.
    public var spellings: [String] { [name] + aliases }
}

/// What a command accepts: its options (with aliases), how many positional words, and the usage
/// line shown with a usage error. The help text of each command lists the same options (checked
/// by the tests).
public struct CommandSpec: Sendable {
    /// The command as typed after `clex` (e.g. "generate", "eval ppl").
    public let name: String
    /// The one-line usage shown after a usage error.
    public let usage: String
    public let options: [OptionSpec]
    /// How many positional words the command takes.
    public let positionalLimit: Int

    /// A command; `-h`/`--help` is added to every command.
    public init(_ name: String, usage: String, options: [OptionSpec], positional: Int = 0) {
        self.name = name
        self.usage = usage
        self.options = options + [OptionSpec("--help", ["-h"], value: nil)]
        self.positionalLimit = positional
        var seen: Set<String> = []
        for spelling in self.options.flatMap(\.spellings) {
            precondition(seen.insert(spelling).inserted, "\(name): option \(spelling) declared twice")
        }
    }

    /// The option spelled `spelling` (canonical name or alias).
    public func option(named spelling: String) -> OptionSpec? {
        options.first { $0.spellings.contains(spelling) }
    }

    /// Stops the program when code asks for an option the command does not declare (a bug in the
    /// command, not in the user's line).
    func require(_ name: String, switch isSwitch: Bool?) {
        guard let option = options.first(where: { $0.name == name }) else {
            preconditionFailure("\(self.name) reads \(name), which its CommandSpec does not declare")
        }
        if let isSwitch { precondition(option.takesValue != isSwitch, "\(self.name): \(name) read as the wrong kind") }
    }

    /// "unknown option '--tmep' for generate; did you mean --temp?"
    func unknownOptionMessage(_ spelling: String) -> String {
        var message = "unknown option '\(spelling)' for \(name)"
        if let near = closest(to: spelling) { message += "; did you mean \(near)?" }
        return message
    }

    /// The spelling nearest to `word` by edit distance, when near enough to be a typo.
    func closest(to word: String) -> String? {
        let bare = word.drop { $0 == "-" }
        var best: (String, Int)?
        for spelling in options.flatMap(\.spellings) {
            let d = Self.editDistance(Array(bare), Array(spelling.drop { $0 == "-" }))
            if d < (best?.1 ?? Int.max) { best = (spelling, d) }
        }
        guard let best, best.1 <= max(2, bare.count / 3) else { return nil }
        return best.0
    }

    /// Levenshtein distance.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }

    /// The positional-method flags (`PositionalConfiguration.applyingCommandLine`'s vocabulary),
    /// taken by every command that runs or writes a model.
    public static let positionalOptions: [OptionSpec] =
        PositionalConfiguration.commandLineValueFlags.sorted().map { OptionSpec($0, value: "VALUE") }
        + PositionalConfiguration.commandLineSwitches.sorted().map { OptionSpec($0, value: nil) }

    /// `-t/--threads N`, taken by every command that computes.
    public static let threadsOption = OptionSpec("--threads", ["-t"], value: "N")

    /// `--weights` and `--activations` (see `WeightsOption`).
    public static let weightsOptions = [OptionSpec("--weights", value: "TYPE"), OptionSpec("--activations", value: "q8|f32")]
}
