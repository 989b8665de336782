/// A command line split into `--flag value` options, boolean switches and positional words,
/// with typed accessors whose errors name the flag.
struct Arguments {
    private var values: [String: String] = [:]
    private var switches: Set<String> = []
    private var used: Set<String> = []
    /// Words that are not options, in order.
    private(set) var positional: [String] = []

    /// Parses `args`; `switches` lists the flags that take no value.
    init(_ args: [String], switches known: Set<String>) throws {
        var i = 0
        while i < args.count {
            let a = args[i]
            if a.hasPrefix("--") {
                if known.contains(a) {
                    switches.insert(a)
                } else {
                    guard i + 1 < args.count else { throw UsageError("\(a) needs a value") }
                    values[a] = args[i + 1]
                    i += 1
                }
            } else {
                positional.append(a)
            }
            i += 1
        }
    }

    /// Whether switch `flag` was given.
    mutating func flag(_ flag: String) -> Bool {
        used.insert(flag)
        return switches.contains(flag)
    }

    /// The value of `flag`, if given.
    mutating func string(_ flag: String) -> String? {
        used.insert(flag)
        return values[flag]
    }

    /// The value of `flag` as an integer, or `fallback`.
    mutating func int(_ flag: String, _ fallback: Int) throws -> Int {
        guard let s = string(flag) else { return fallback }
        guard let v = Int(s) else { throw UsageError("\(flag) expects an integer, got '\(s)'") }
        return v
    }

    /// The value of `flag` as a number, or `fallback`.
    mutating func float(_ flag: String, _ fallback: Float) throws -> Float {
        guard let s = string(flag) else { return fallback }
        guard let v = Float(s), v.isFinite else { throw UsageError("\(flag) expects a finite number, got '\(s)'") }
        return v
    }

    /// Throws for any option that no accessor asked about.
    func rejectUnknown() throws {
        let unknown = Set(values.keys).union(switches).subtracting(used)
        if let first = unknown.sorted().first { throw UsageError("unknown option '\(first)'") }
    }
}
