import CLEXModel
import Testing

@Suite("sampler") struct SamplerTests {
    func pick(_ sampler: inout Sampler, _ logits: [Float], recent: [Int32] = []) -> Int32 {
        logits.withUnsafeBufferPointer { sampler.next($0, recent: recent) }
    }

    @Test("repeat penalty divides positive and multiplies negative logits of recent tokens, as llama.cpp")
    func repeatPenalty() {
        var sampler = Sampler()
        #expect(pick(&sampler, [1, 3, 2.5], recent: [1]) == 1)
        sampler.repeatPenalty = 2
        #expect(pick(&sampler, [1, 3, 2.5], recent: [1]) == 2)              // 3 / 2 = 1.5 < 2.5
        #expect(pick(&sampler, [-1, -0.6, -0.5], recent: [2]) == 1)         // −0.5 × 2 = −1 < −0.6
        sampler.repeatWindow = 1
        #expect(pick(&sampler, [1, 3, 2.5], recent: [1, 0]) == 1)           // token 1 is outside the window
    }

    @Test("min-p keeps only tokens at least P times as likely as the best")
    func minP() {
        var sampler = Sampler(temperature: 1, seed: 3)
        sampler.minP = 0.5
        for _ in 0..<200 { #expect(pick(&sampler, [0, 5, 5 - 0.5, -3]) != 3) }
        for _ in 0..<200 { #expect([1, 2].contains(pick(&sampler, [0, 5, 5 - 0.5, -3]))) }
    }
}
