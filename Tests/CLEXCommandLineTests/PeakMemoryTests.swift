import CLEXBench
import Foundation
import Testing

/// The peak resident set a benchmark reports counts the model, not the buffers its baselines
/// allocated and freed before.
@Suite("benchmark peak memory")
struct PeakMemoryTests {
    /// A 64 MB parallel copy takes 128 MB while it runs; once it returns, its buffers are the
    /// system's again, so a peak started afresh after it is ~128 MB lower. (Pooled tensors, as the
    /// baselines used before, stayed resident and kept the peak up.)
    @Test("a baseline's buffers are returned, so a peak reset after it does not count them")
    func baselinesLeaveThePeak() throws {
        #expect(resetPeakResidentBytes())
        _ = Baselines.copyBandwidth(megabytes: 64, minSeconds: 0)
        let during = peakResidentBytes()
        #expect(resetPeakResidentBytes())
        let after = peakResidentBytes()
        #expect(during - after > 100_000_000, "peak \(during) bytes with the copy, \(after) after it")
    }
}
