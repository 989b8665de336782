/// Input the command cannot use — a missing file, an output that cannot be written, a folder
/// that is not ours: exit status 1, the message alone.
struct InputError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
