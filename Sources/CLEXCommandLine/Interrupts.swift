import CLEXTensor
import Dispatch
import Foundation
import Synchronization

/// SIGINT (Ctrl-C) and SIGTERM. Outside a cooperative section the process removes the temporary
/// files being written (`TemporaryFiles`: atomic writes, half-saved checkpoints) and exits at
/// once with 128 + the signal (130, 143). Inside one (`cooperating`, used by `eval`) the first
/// signal only sets `requested`: the work polls it, saves what it finished and returns; a second
/// signal exits at once.
public enum Interrupts {
    private static let pending = Atomic<Int32>(0)
    private static let cooperative = Atomic<Int>(0)
    private static let exiting = Atomic<Bool>(false)
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    /// The signal received during a cooperative section (nil: none).
    public static var requested: Int32? {
        let s = pending.load(ordering: .acquiring)
        return s == 0 ? nil : s
    }

    /// Takes over SIGINT and SIGTERM for the process (call once, from `main`).
    public static func install() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { received(signalNumber) }
            source.resume()
            sources.append(source)
        }
    }

    /// Runs `body` as a cooperative section: a first signal sets `requested` instead of exiting.
    public static func cooperating<R>(_ body: () throws -> R) rethrows -> R {
        cooperative.add(1, ordering: .sequentiallyConsistent)
        defer { cooperative.subtract(1, ordering: .sequentiallyConsistent) }
        return try body()
    }

    /// Blocks for good when a signal is stopping the process (its handler is removing temporary
    /// files and will exit with 128 + the signal), so that the work failing on the files removed
    /// under it neither reports that failure nor exits first.
    public static func awaitExitIfStopping() {
        guard exiting.load(ordering: .sequentiallyConsistent) else { return }
        while true { pause() }
    }

    /// The exit status for signal `s`.
    public static func exitStatus(_ s: Int32) -> Int32 { 128 + s }

    /// The name of signal `s`.
    public static func name(_ s: Int32) -> String { s == SIGINT ? "SIGINT" : s == SIGTERM ? "SIGTERM" : "signal \(s)" }

    private static func received(_ s: Int32) {
        let first = pending.compareExchange(expected: 0, desired: s, ordering: .acquiringAndReleasing).exchanged
        if first && cooperative.load(ordering: .sequentiallyConsistent) > 0 {
            FileHandle.standardError.write(Data("\nclex: \(name(s)): finishing the current step and saving what is done (again to stop at once)\n".utf8))
            return
        }
        exiting.store(true, ordering: .sequentiallyConsistent)
        let removed = TemporaryFiles.close()
        FileHandle.standardError.write(Data("\nclex: \(name(s)): stopped\(removed > 0 ? ", removed \(removed) temporary file(s)" : "")\n".utf8))
        fflush(nil)
        _exit(exitStatus(s))
    }
}
