/// A command line the tool cannot interpret: exit status 2, with the usage line of `command`.
public struct UsageError: Error, CustomStringConvertible {
    public let message: String
    /// The command whose usage to show (nil: the tool's).
    public let command: String?

    /// An error saying `message` about the line of `command`.
    public init(_ message: String, command: String? = nil) {
        self.message = message
        self.command = command
    }

    public var description: String { message }
}
