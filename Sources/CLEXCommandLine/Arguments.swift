import CLEXModel
import Foundation

/// A command line read against a command's `CommandSpec`: `--flag value`, `--flag=value`,
/// llama.cpp's short forms and aliases, switches, and positional words. Unknown, repeated and
/// value-less flags are usage errors (with the closest valid name); the typed accessors check
/// ranges and name the flag and what it accepts.
public struct Arguments {
    /// The command the line was read for.
    public let spec: CommandSpec
    /// Values by canonical option name (switches hold "true" or "false").
    private var values: [String: String] = [:]
    /// Words that are not options, in order.
    public private(set) var positional: [String] = []

    /// Reads `args` for `spec`. Everything after a lone `--` is positional.
    public init(_ args: [String], spec: CommandSpec) throws {
        self.spec = spec
        var spelled: [String: String] = [:]
        var i = 0
        var optionsEnded = false
        while i < args.count {
            let word = args[i]
            i += 1
            if optionsEnded || !Self.looksLikeOption(word) {
                positional.append(word)
                continue
            }
            if word == "--" {
                optionsEnded = true
                continue
            }
            let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let name = parts[0]
            guard let option = spec.option(named: name) else {
                throw UsageError(spec.unknownOptionMessage(name), command: spec.name)
            }
            if let earlier = spelled[option.name] {
                let both = earlier == name ? name : "\(earlier) and \(name)"
                throw UsageError("\(option.name) is given twice (\(both)); give it once", command: spec.name)
            }
            spelled[option.name] = name
            if option.takesValue {
                if parts.count == 2 {
                    values[option.name] = parts[1]
                } else {
                    guard i < args.count, !Self.looksLikeOption(args[i]) else {
                        let found = i < args.count ? "found \(args[i])" : "found the end of the line"
                        throw UsageError("\(name) needs a value \(option.placeholder) (\(found)); "
                                         + "to give a value that starts with '-', write \(name)=VALUE", command: spec.name)
                    }
                    values[option.name] = args[i]
                    i += 1
                }
            } else {
                switch parts.count == 2 ? parts[1].lowercased() : "true" {
                case "true", "1", "yes": values[option.name] = "true"
                case "false", "0", "no": values[option.name] = "false"
                default:
                    throw UsageError("\(name) is a switch: it takes no value, or =true / =false (found '\(parts[1])')",
                                     command: spec.name)
                }
            }
        }
        if positional.count > spec.positionalLimit {
            let stray = positional[spec.positionalLimit]
            let hint = spec.positionalLimit == 0 ? "; \(spec.name) takes only options" : ""
            throw UsageError("unexpected argument '\(stray)'\(hint)", command: spec.name)
        }
    }

    /// Whether `word` is an option rather than a value: starts with '-', is not '-' alone, holds
    /// no white space (`--methods "--rope-scaling yarn"` is a value) and is not a number (so
    /// `--seed -1` and `--rope-scale -2` reach the range checks).
    static func looksLikeOption(_ word: String) -> Bool {
        guard word.hasPrefix("-"), word.count > 1, !word.contains(where: \.isWhitespace) else { return false }
        return Double(word) == nil && !(word.dropFirst().first?.isNumber ?? false)
    }

    /// Whether switch `name` is on.
    public func flag(_ name: String) -> Bool {
        spec.require(name, switch: true)
        return values[name] == "true"
    }

    /// Whether option `name` was given at all.
    public func given(_ name: String) -> Bool {
        spec.require(name, switch: nil)
        return values[name] != nil
    }

    /// The value of `name`, if given.
    public func string(_ name: String) -> String? {
        spec.require(name, switch: false)
        return values[name]
    }

    /// The value of `name`, which must be given; the error names the option.
    public func required(_ name: String) throws -> String {
        guard let value = string(name) else {
            let option = spec.option(named: name)!
            throw UsageError("\(spec.name) needs \(name) \(option.placeholder)", command: spec.name)
        }
        guard !value.isEmpty else { throw UsageError("\(name) is empty; it needs \(spec.option(named: name)!.placeholder)", command: spec.name) }
        return value
    }

    /// The integer value of `name` in `range`, or `fallback` when absent.
    public func int(_ name: String, _ fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        try int(name, in: range) ?? fallback
    }

    /// The integer value of `name` in `range`, nil when absent.
    public func int(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
            throw UsageError("\(name) expects an integer in \(Self.describe(range)), got '\(text)'", command: spec.name)
        }
        return value
    }

    /// The finite number given for `name` in `range`, or `fallback` when absent.
    public func double(_ name: String, _ fallback: Double, in range: ClosedRange<Double>) throws -> Double {
        guard let text = string(name) else { return fallback }
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite, range.contains(value) else {
            throw UsageError("\(name) expects a number in \(Self.describe(range)), got '\(text)'", command: spec.name)
        }
        return value
    }

    /// `double` as a Float.
    public func float(_ name: String, _ fallback: Float, in range: ClosedRange<Double>) throws -> Float {
        Float(try double(name, Double(fallback), in: range))
    }

    /// A seed: 0 … 2⁶⁴−1, or -1 for a random one (as llama.cpp's `--seed -1`), or `fallback`.
    public func seed(_ name: String, _ fallback: UInt64) throws -> UInt64 {
        guard let text = string(name) else { return fallback }
        let word = text.trimmingCharacters(in: .whitespaces)
        if word == "-1" { return UInt64.random(in: 0...UInt64.max) }
        guard let value = UInt64(word) else {
            throw UsageError("\(name) expects an integer in 0 … \(UInt64.max), or -1 for a random seed, got '\(text)'",
                             command: spec.name)
        }
        return value
    }

    /// The value of `name`, which must be one of `choices`, or `fallback`.
    public func choice(_ name: String, _ fallback: String, among choices: [String]) throws -> String {
        guard let text = string(name) else { return fallback }
        guard choices.contains(text) else {
            throw UsageError("\(name) expects one of \(choices.joined(separator: ", ")), got '\(text)'", command: spec.name)
        }
        return text
    }

    /// Comma-separated integers for `name` in `range` (a "k" suffix multiplies by 1024); nil when absent.
    public func integers(_ name: String, in range: ClosedRange<Int>) throws -> [Int]? {
        guard let text = string(name) else { return nil }
        let fail = UsageError("\(name) expects comma-separated integers in \(Self.describe(range)) (\"2k\" = 2048), got '\(text)'",
                              command: spec.name)
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
        return try items.map { item -> Int in
            let word = item.trimmingCharacters(in: .whitespaces).lowercased()
            let value: Int?
            if word.hasSuffix("k"), let base = Int(word.dropLast()) {
                let (product, overflow) = base.multipliedReportingOverflow(by: 1024)
                value = overflow ? nil : product
            } else {
                value = Int(word)
            }
            guard let value, range.contains(value) else { throw fail }
            return value
        }
    }

    /// Comma-separated finite numbers for `name` in `range`; nil when absent.
    public func numbers(_ name: String, in range: ClosedRange<Double>) throws -> [Double]? {
        guard let text = string(name) else { return nil }
        return try text.split(separator: ",", omittingEmptySubsequences: false).map { item in
            guard let value = Double(item.trimmingCharacters(in: .whitespaces)), value.isFinite, range.contains(value) else {
                throw UsageError("\(name) expects comma-separated numbers in \(Self.describe(range)), got '\(text)'",
                                 command: spec.name)
            }
            return value
        }
    }

    /// The positional-method flags that were given (`--rope-scaling`, `--clex-*`, …), spelled as
    /// `PositionalConfiguration.applyingCommandLine` reads them.
    public func positionalOverrides() -> [String] {
        var words: [String] = []
        for option in CommandSpec.positionalOptions {
            guard spec.option(named: option.name) != nil, let value = values[option.name] else { continue }
            words.append("\(option.name)=\(value)")
        }
        return words
    }

    static func describe(_ range: ClosedRange<Int>) -> String {
        "\(range.lowerBound) … \(range.upperBound == Int.max ? "∞" : String(range.upperBound))"
    }

    static func describe(_ range: ClosedRange<Double>) -> String {
        let low = range.lowerBound == -.greatestFiniteMagnitude ? "−∞" : String(format: "%g", range.lowerBound)
        let high = range.upperBound == .greatestFiniteMagnitude ? "∞" : String(format: "%g", range.upperBound)
        return "\(low) … \(high)"
    }
}
