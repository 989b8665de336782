/// A configuration (config.json, GGUF metadata, command-line overrides) that cannot be used.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    /// Where the configuration came from (a file path, "command line", …).
    public let source: String
    /// The offending key, dotted for nested keys (e.g. "rope_scaling.factor").
    public let key: String
    /// What was expected and what was found.
    public let problem: String

    public init(source: String, key: String, problem: String) {
        self.source = source
        self.key = key
        self.problem = problem
    }

    public var description: String { "\(source): '\(key)': \(problem)" }
}
