import Foundation
import Glibc
import Synchronization

/// Keeps the input being parsed recoverable when the process dies on it, and bounds each input's
/// time and the process's memory.
///
/// - Crash: handlers for SIGILL and SIGTRAP (Swift's traps), SIGSEGV and SIGBUS (bad memory
///   access, stack overflow: they run on an alternate stack), SIGFPE and SIGABRT write the staged
///   input to a file chosen before fuzzing started and print the target, the input's number and
///   the file, using only `open`/`write`/`close` (async-signal-safe). They then restore the
///   handlers that were there before (Swift's backtracer, or the default) and return, so the
///   faulting instruction runs again and the process dies as it would have.
/// - Hang: a watchdog thread checks every 20 ms; when one input has run longer than the limit,
///   it saves that input (the fuzzing thread is stuck inside it, so the bytes stay valid),
///   prints where it went and aborts the process.
/// - Memory: the address-space limit (`RLIMIT_AS`) is set to the current size plus a budget, so
///   an allocation sized by a corrupt count fails at once (and is reported as a crash) instead of
///   being granted lazily by the kernel and going unnoticed.
///
/// One guard is active at a time (`activate` … `deactivate`); state lives in globals because a
/// signal handler cannot reach anything else.
final class CrashGuard {
    /// The signals handled: Swift traps are SIGILL (x86-64 `ud2`) or SIGTRAP (arm64 `brk`).
    static let signals: [Int32] = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT]

    private let hangLimitNanoseconds: UInt64
    private var previousLimit = rlimit()
    private var limited = false

    /// A guard for `target`: a crash saves the input to `crashPath`, a hang (an input running
    /// longer than `hangLimit` seconds) to `hangPath`. `memoryBudget` bytes of address space
    /// are allowed beyond the current size (nil: no limit).
    init(target: String, crashPath: String, hangPath: String, hangLimit: Double, memoryBudget: Int?) {
        hangLimitNanoseconds = UInt64(max(hangLimit, 0.001) * 1e9)
        GuardState.prepare(target: target, crashPath: crashPath, hangPath: hangPath)
        installHandlers()
        if let memoryBudget { limitAddressSpace(budget: memoryBudget) }
        startWatchdog()
    }

    /// Marks `input` (the bytes being parsed, number `iteration`) as the one to save.
    @inline(__always)
    func stage(_ input: UnsafeRawBufferPointer, iteration: Int) {
        GuardState.input = input.baseAddress
        GuardState.inputCount = input.count
        GuardState.iteration = iteration
        GuardState.sequence.add(1, ordering: .sequentiallyConsistent)
        GuardState.start.store(monotonicNanoseconds(), ordering: .sequentiallyConsistent)
    }

    /// The staged input is done.
    @inline(__always)
    func unstage() {
        GuardState.start.store(0, ordering: .sequentiallyConsistent)
        GuardState.input = nil
        GuardState.inputCount = 0
    }

    /// Stops the watchdog, restores the previous signal handlers and memory limit.
    func deactivate() {
        GuardState.watching.store(false, ordering: .sequentiallyConsistent)
        while GuardState.watchdogRunning.load(ordering: .sequentiallyConsistent) { usleep(1000) }
        GuardState.restoreHandlers()
        if limited { setrlimit(addressSpaceResource, &previousLimit) }
    }

    private func installHandlers() {
        // An alternate stack, so that a stack overflow can still be reported (per thread: the
        // thread that fuzzes is the one that overflows). One guard is active at a time, so one
        // stack serves them all.
        var stack = stack_t()
        stack.ss_sp = GuardState.alternateStack
        stack.ss_size = GuardState.alternateStackSize
        stack.ss_flags = 0
        sigaltstack(&stack, nil)
        for (i, signal) in Self.signals.enumerated() {
            var action = sigaction()
            action.__sigaction_handler.sa_sigaction = crashHandler
            action.sa_flags = SA_SIGINFO | SA_ONSTACK
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, GuardState.previousActions + i)
        }
    }

    private func limitAddressSpace(budget: Int) {
        getrlimit(addressSpaceResource, &previousLimit)
        let current = Self.addressSpaceBytes()
        let (wanted, overflow) = current.addingReportingOverflow(budget)
        guard current > 0, !overflow else { return }
        var limit = previousLimit
        limit.rlim_cur = min(rlim_t(wanted), previousLimit.rlim_max)
        if setrlimit(addressSpaceResource, &limit) == 0 { limited = true }
    }

    /// The process's current virtual size (`/proc/self/statm`, first field, in pages).
    static func addressSpaceBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = text.split(separator: " ").first.flatMap({ Int($0) }) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    private func startWatchdog() {
        let limit = hangLimitNanoseconds
        GuardState.watching.store(true, ordering: .sequentiallyConsistent)
        GuardState.watchdogRunning.store(true, ordering: .sequentiallyConsistent)
        let thread = Thread {
            while GuardState.watching.load(ordering: .sequentiallyConsistent) {
                usleep(20_000)
                let before = GuardState.sequence.load(ordering: .sequentiallyConsistent)
                let start = GuardState.start.load(ordering: .sequentiallyConsistent)
                let after = GuardState.sequence.load(ordering: .sequentiallyConsistent)
                if start != 0, before == after, monotonicNanoseconds() &- start > limit {
                    GuardState.reportHang(seconds: Double(limit) / 1e9)
                }
            }
            GuardState.watchdogRunning.store(false, ordering: .sequentiallyConsistent)
        }
        thread.name = "clex-fuzz-watchdog"
        thread.start()
    }
}

/// `RLIMIT_AS` as the type `getrlimit`/`setrlimit` take on glibc.
private let addressSpaceResource = __rlimit_resource_t(RLIMIT_AS.rawValue)

/// Nanoseconds of `CLOCK_MONOTONIC`.
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// The guard's state, as globals a signal handler can read without allocating or locking.
enum GuardState {
    nonisolated(unsafe) static var input: UnsafeRawPointer?
    nonisolated(unsafe) static var inputCount = 0
    nonisolated(unsafe) static var iteration = 0
    /// NUL-terminated texts written by the handlers, built before fuzzing starts.
    nonisolated(unsafe) static var crashPath: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) static var hangPath: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) static var targetName: UnsafeMutablePointer<CChar>?
    /// Scratch space for formatting numbers inside a handler.
    nonisolated(unsafe) static var digits = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)
    nonisolated(unsafe) static var previousActions = UnsafeMutablePointer<sigaction>.allocate(capacity: 8)
    /// The signal handlers' stack.
    static let alternateStackSize = 1 << 18
    nonisolated(unsafe) static var alternateStack = UnsafeMutableRawPointer.allocate(byteCount: alternateStackSize,
                                                                                    alignment: 16)
    /// Set once an input has been saved (a hang's abort must not save it again as a crash).
    nonisolated(unsafe) static var reported = false

    static let sequence = Atomic<Int>(0)
    static let start = Atomic<UInt64>(0)
    static let watching = Atomic<Bool>(false)
    static let watchdogRunning = Atomic<Bool>(false)

    static func prepare(target: String, crashPath: String, hangPath: String) {
        for old in [Self.crashPath, Self.hangPath, Self.targetName] { free(old) }
        Self.crashPath = strdup(crashPath)
        Self.hangPath = strdup(hangPath)
        targetName = strdup(target)
        input = nil
        inputCount = 0
        iteration = 0
        reported = false
        _ = digits
        _ = previousActions
    }

    static func restoreHandlers() {
        for (i, signal) in CrashGuard.signals.enumerated() { sigaction(signal, previousActions + i, nil) }
    }

    /// Writes the staged input to `path`; false when there is none or it cannot be written.
    static func saveInput(to path: UnsafeMutablePointer<CChar>?) -> Bool {
        guard let path, let input else { return false }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { return false }
        var done = 0
        while done < inputCount {
            let n = write(fd, input + done, inputCount - done)
            if n <= 0 { break }
            done += n
        }
        close(fd)
        return done == inputCount
    }

    static func say(_ text: StaticString) {
        _ = write(2, text.utf8Start, text.utf8CodeUnitCount)
    }

    static func say(_ text: UnsafeMutablePointer<CChar>?) {
        guard let text else { return }
        _ = write(2, text, strlen(text))
    }

    static func say(_ number: Int) {
        var n = number < 0 ? 0 : number
        var i = 32
        repeat {
            i -= 1
            digits[i] = UInt8(48 + n % 10)
            n /= 10
        } while n > 0 && i > 0
        _ = write(2, digits + i, 32 - i)
    }

    /// Called from the signal handler.
    static func reportCrash(signal: Int32) {
        if !reported {
            reported = true
            say("\nclex fuzz: target '"); say(targetName); say("' crashed (signal "); say(Int(signal)); say(")")
            if input != nil {
                say(" on input #"); say(iteration)
                if saveInput(to: crashPath) { say("; input saved to "); say(crashPath) } else { say("; the input could not be saved") }
            } else {
                say(" outside any input")
            }
            say("\n")
        }
        restoreHandlers()
    }

    /// Called from the watchdog thread; does not return.
    static func reportHang(seconds: Double) -> Never {
        reported = true
        say("\nclex fuzz: target '"); say(targetName); say("' input #"); say(iteration)
        say(" ran longer than "); say(Int(seconds * 1000)); say(" ms (hang)")
        if saveInput(to: hangPath) { say("; input saved to "); say(hangPath) } else { say("; the input could not be saved") }
        say("\n")
        restoreHandlers()
        abort()
    }
}

/// The handler installed for every signal in `CrashGuard.signals`.
private let crashHandler: @convention(c) (Int32, UnsafeMutablePointer<siginfo_t>?, UnsafeMutableRawPointer?) -> Void = {
    signal, _, _ in
    GuardState.reportCrash(signal: signal)
}
