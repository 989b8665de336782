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

    /// If OpenBLAS selected a slow core and `OPENBLAS_CORETYPE` is unset, re-executes the current
    /// program once with the variable set to the recommended core. Returns only when no re-exec
    /// was needed (or it failed, in which case a warning goes to stderr and the run continues).
    public static func reexecWithFastCoreIfNeeded() {
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil,
              let core = override(coreName: BLAS.coreName,
                                  cpuinfo: try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))
        else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        let args = CommandLine.arguments
        let path = "/proc/self/exe"
        var cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cArgs.append(nil)
        execv(path, cArgs)
        let message = "warning: OpenBLAS uses slow core \(BLAS.coreName); re-exec with OPENBLAS_CORETYPE=\(core) failed (errno \(errno))\n"
        FileHandle.standardError.write(message.data(using: .utf8)!)
    }
}
