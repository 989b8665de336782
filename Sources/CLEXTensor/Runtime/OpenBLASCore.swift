import COpenBLAS
import Foundation

/// Guards against the OpenBLAS core-type trap: Debian bookworm's OpenBLAS 0.3.21 does not
/// recognise recent Intel Xeons (upstream OpenBLAS issue 4267, fixed in 0.3.25) and falls back to
/// its SSE3 "Prescott" kernels, 4.6× slower. The core type is read from `OPENBLAS_CORETYPE` when
/// the library loads, so the only fix is to set it before the process starts.
public enum OpenBLASCore {
    /// Core names whose kernels are far below what an AVX2/AVX-512 CPU can run.
    static let slowCores: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem",
                                         "atom", "katmai", "coppermine", "northwood", "banias",
                                         "unknown", "generic"]

    /// The core type this CPU should use, from /proc/cpuinfo flags: "SkylakeX" with AVX-512F,
    /// "Haswell" with AVX2, nil otherwise (never SkylakeX without AVX-512: illegal instruction).
    public static func recommendedCoreType(cpuinfo: String?) -> String? {
        guard let info = cpuinfo,
              let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if flags.contains("avx512f") { return "SkylakeX" }
        if flags.contains("avx2") { return "Haswell" }
        return nil
    }

    /// The core to force, or nil when OpenBLAS's own choice (`coreName`) is already fine: only a
    /// generic/old core on a CPU with AVX2 or AVX-512 is overridden (on AMD Zen 4 OpenBLAS picks
    /// "Cooperlake" itself, as fast as any forced choice).
    public static func override(coreName: String, cpuinfo: String?) -> String? {
        guard slowCores.contains(coreName.lowercased()) else { return nil }
        return recommendedCoreType(cpuinfo: cpuinfo)
    }

    /// `OPENBLAS_THREAD_TIMEOUT` for this project: log2 of the cycles an idle OpenBLAS worker
    /// spins (calling `sched_yield`) before it sleeps. The default, 2^28 cycles (~0.1 s), keeps
    /// the worker spinning through every non-BLAS step that follows a GEMM, taking a core from
    /// the project's own threads: a 2048-token SmolLM2 prefill ran ~17% of its time in
    /// `sched_yield` and scheduling, and ran 20% faster (460 → 550 tokens/s, 2-core Zen 4) with
    /// the minimum, 2^4, at which workers sleep at once and a GEMM wakes them (tens of µs, noise
    /// next to a GEMM of milliseconds).
    public static let threadTimeout = "4"

    /// The variables to add to `environment` before OpenBLAS loads: `OPENBLAS_CORETYPE` when the
    /// selected core is a slow one (see `override`), `OPENBLAS_THREAD_TIMEOUT` (see
    /// `threadTimeout`); variables already set are left alone.
    public static func environmentOverrides(coreName: String, cpuinfo: String?,
                                            environment: [String: String]) -> [String: String] {
        var overrides: [String: String] = [:]
        if environment["OPENBLAS_CORETYPE"] == nil, let core = override(coreName: coreName, cpuinfo: cpuinfo) {
            overrides["OPENBLAS_CORETYPE"] = core
        }
        if environment["OPENBLAS_THREAD_TIMEOUT"] == nil { overrides["OPENBLAS_THREAD_TIMEOUT"] = threadTimeout }
        return overrides
    }

    /// If OpenBLAS was loaded without the settings of `environmentOverrides`, re-executes the
    /// current program once with them set (`scripts/openblas-env` sets both, so its runs need
    /// none). Returns only when no re-exec was needed (or it failed, in which case a warning
    /// goes to stderr and the run continues).
    public static func reexecWithFastSettingsIfNeeded() {
        let overrides = environmentOverrides(coreName: BLAS.coreName,
                                             cpuinfo: try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
                                             environment: ProcessInfo.processInfo.environment)
        if overrides.isEmpty { return }
        for (key, value) in overrides { setenv(key, value, 1) }
        let args = CommandLine.arguments
        let path = "/proc/self/exe"
        var cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cArgs.append(nil)
        execv(path, cArgs)
        let settings = overrides.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let message = "warning: re-exec with \(settings) failed (errno \(errno)); OpenBLAS runs core \(BLAS.coreName)\n"
        FileHandle.standardError.write(message.data(using: .utf8)!)
    }
}
