/// An evaluation that cannot run as asked (bad lengths, protocol settings, texts, method flags).
public struct EvaluationError: Error, CustomStringConvertible, Equatable {
    /// What went wrong and what to do about it.
    public let description: String

    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}

/// Thrown inside a run when its `shouldStop` answers true: the cell stops, the run reports the
/// cells it finished and marks the others not run.
struct EvaluationStopped: Error {}

/// The failure text of a cell an interrupted run did not finish.
public let notRunBecauseInterrupted = "not run: interrupted"
