import CLEXTensor
import Testing

/// The environment `clex` re-executes itself with before OpenBLAS loads.
@Suite("OpenBLAS start-up environment") struct OpenBLASEnvironmentTests {
    static let avx512 = "flags\t\t: fpu sse2 avx avx2 fma avx512f\n"

    @Test("the thread timeout is added unless set; the core type only for a slow core")
    func overrides() {
        #expect(OpenBLASCore.environmentOverrides(coreName: "Cooperlake", cpuinfo: Self.avx512, environment: [:])
                == ["OPENBLAS_THREAD_TIMEOUT": OpenBLASCore.threadTimeout])
        #expect(OpenBLASCore.environmentOverrides(coreName: "Prescott", cpuinfo: Self.avx512, environment: [:])
                == ["OPENBLAS_THREAD_TIMEOUT": "4", "OPENBLAS_CORETYPE": "SkylakeX"])
        #expect(OpenBLASCore.environmentOverrides(coreName: "Prescott", cpuinfo: Self.avx512,
                                                  environment: ["OPENBLAS_THREAD_TIMEOUT": "28", "OPENBLAS_CORETYPE": "Haswell"])
                == [:])
    }
}
