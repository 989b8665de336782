/// An evaluation that cannot run as asked (bad lengths, protocol settings, texts, method flags).
public struct EvaluationError: Error, CustomStringConvertible, Equatable {
    /// What went wrong and what to do about it.
    public let description: String

    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}
