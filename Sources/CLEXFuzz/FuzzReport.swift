import Foundation

/// What fuzzing one target found.
public struct FuzzReport: Sendable {
    /// The target's name.
    public var target: String
    /// Inputs run (seeds included).
    public var inputs = 0
    /// Inputs the target accepted (parsed without an error).
    public var accepted = 0
    /// Rejected inputs by error type and case (`CheckpointError.truncated` → count).
    public var errorsByKind: [String: Int] = [:]
    /// Distinct normalised error messages seen (capped at `FuzzRunner.maximumDistinctKinds`).
    public var distinctErrorKinds: Int { errorMessages.count }
    /// Each distinct normalised error message (type, case, message with numbers and quoted text
    /// blanked out) and how often it came.
    public var errorMessages: [String: Int] = [:]
    /// Errors of a type bad input should never produce (not `CheckpointError`,
    /// `ConfigurationError`, `TokenizerError`, `ModelLoadError`, `PositionalError`): message → count.
    public var unexpectedErrors: [String: Int] = [:]
    /// Time of the slowest input, in seconds.
    public var slowestSeconds = 0.0
    /// The slowest input itself.
    public var slowestInput: [UInt8] = []
    /// Seeds in the corpus at the start (built-in plus files).
    public var seedCount = 0
    /// Inputs kept because they produced a new kind of outcome, mutated further like seeds.
    public var corpusGrowth = 0
    /// Wall-clock seconds for all inputs.
    public var seconds = 0.0

    /// Inputs per second.
    public var inputsPerSecond: Double { seconds > 0 ? Double(inputs) / seconds : 0 }

    /// A one-line summary: counts, rate, error kinds and the slowest input.
    public var summary: String {
        "\(target): \(inputs) inputs in \(String(format: "%.1f", seconds)) s (\(Int(inputsPerSecond.rounded())) inputs/s), "
            + "\(accepted) accepted, \(distinctErrorKinds) distinct errors in \(errorsByKind.count) kinds, "
            + "slowest \(String(format: "%.2f", slowestSeconds * 1000)) ms, \(unexpectedErrors.values.reduce(0, +)) unexpected errors, "
            + "corpus \(seedCount) + \(corpusGrowth)"
    }

    /// The error kinds, most frequent first: `  CheckpointError.truncated  12345`.
    public var kindLines: [String] {
        errorsByKind.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { "  \($0.key)  \($0.value)" }
    }

    /// The distinct error messages, most frequent first: `    123  CheckpointError.truncated: …`.
    public var messageLines: [String] {
        errorMessages.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { "    \($0.value)  \($0.key)" }
    }
}
