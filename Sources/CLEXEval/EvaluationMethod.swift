import CLEXModel

/// A positional method under evaluation: a display name and a factory. The factory runs once per
/// (method, length) cell; when it throws, that cell is reported as "n/a (reason)".
public struct EvaluationMethod {
    /// Name in tables, legends and reports.
    public var name: String
    /// Makes the method (may throw: the cell is then not available).
    public var make: () throws -> any PositionalMethod

    /// A method called `name` made by `make`.
    public init(name: String, make: @escaping () throws -> any PositionalMethod) {
        self.name = name
        self.make = make
    }
}
