import Foundation
import CLEXTensor
import Testing

@Suite("OpenBLAS core selection") struct OpenBLASCoreTests {
    static let avx512 = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw\n"
    static let avx2 = "flags\t\t: fpu sse2 avx avx2 fma\n"
    static let sse = "flags\t\t: fpu sse2 sse3\n"

    @Test("a misdetected generic core is overridden by the best the CPU supports")
    func overrides() {
        #expect(OpenBLASCore.override(coreName: "Prescott", cpuinfo: Self.avx512) == "SkylakeX")
        #expect(OpenBLASCore.override(coreName: "Prescott", cpuinfo: Self.avx2) == "Haswell")
        #expect(OpenBLASCore.override(coreName: "Prescott", cpuinfo: Self.sse) == nil)
        #expect(OpenBLASCore.override(coreName: "Prescott", cpuinfo: nil) == nil)
    }

    @Test("a correctly detected modern core is left alone")
    func leavesGoodCores() {
        #expect(OpenBLASCore.override(coreName: "Cooperlake", cpuinfo: Self.avx512) == nil)
        #expect(OpenBLASCore.override(coreName: "SkylakeX", cpuinfo: Self.avx512) == nil)
        #expect(OpenBLASCore.override(coreName: "Zen", cpuinfo: Self.avx2) == nil)
    }

    @Test("the test process itself runs a fast core (scripts/openblas-env did its job)")
    func currentCore() {
        let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        #expect(OpenBLASCore.override(coreName: BLAS.coreName, cpuinfo: cpuinfo) == nil,
                "OpenBLAS runs the slow core \(BLAS.coreName)")
    }
}
