import CLEXTensor

/// `-t/--threads N`: the threads every computing command uses — the engine's loops and worker
/// team and OpenBLAS (`Parallel.setThreadCount`). Set once, before anything computes.
enum ThreadsOption {
    /// Accepted values.
    static let range = 1...1024

    /// Applies `--threads` when the command takes it and it was given.
    static func apply(_ args: Arguments) throws {
        guard args.spec.option(named: CommandSpec.threadsOption.name) != nil,
              let threads = try args.int(CommandSpec.threadsOption.name, in: range) else { return }
        Parallel.setThreadCount(threads)
    }
}
