import CLEXEval
import CLEXModel
import CLEXTensor
import Foundation
import Testing

/// `reference` and `cached` against golden mean NLLs from scripts/reference-ppl-golden.py, a
/// float64 numpy port of the CLEX reference's `calculate_perplexity` and model forward (un-rotated
/// key cache, one rotation per call, torchdiffeq's rk4) on a tiny LLaMA whose weights follow a
/// formula repeated here. "ours" is the same port fed one token at a time, every token scored.
/// Tolerance 1e-6 relative: Float32 model and ODE against float64 (measured ≤ 1e-8 here); the
/// reference and ours differ by 1e-3 to 1e-2 on these cases.
@Suite("reference perplexity: golden numbers of a numpy port") struct ReferenceGoldenTests {
    /// (n, C, reference's mean NLL, ours) — the script's output.
    static let golden: [(n: Int, chunk: Int, reference: Double, ours: Double)] = [
        (n: 24, chunk: 10, reference: 3.4724237325432306, ours: 3.4319938517131554),
        (n: 24, chunk: 24, reference: 3.427298057887967, ours: 3.4319938517131554),
        (n: 30, chunk: 8, reference: 3.45821702702905, ours: 3.476970520414653),
    ]

    /// V 32, E 16, 2 heads and 1 KV head of 8, FFN 24, 2 layers, L = 8; weight element k of the
    /// slot numbered s (checkpoint order): norms 1 + 0.25·cos(0.9k + s), matrices
    /// 0.4·sin(0.61k + 1.7s + 0.3), rounded to Float32.
    static func model() -> LlamaModel {
        let c = LlamaConfiguration(vocabularySize: 32, hiddenSize: 16, intermediateSize: 24, layerCount: 2, headCount: 2,
                                   keyValueHeadCount: 1, rmsNormEpsilon: 1e-5, ropeTheta: 10000, maxPositionEmbeddings: 8,
                                   tieWordEmbeddings: false, rotaryLayout: .rotateHalf)
        var p = LlamaParameters(randomFor: c, seed: 0)
        for (s, slot) in CheckpointNames.slots(layers: 2, tied: false).enumerated() {
            let shape = CheckpointNames.shape(slot, c)
            let norm = CheckpointNames.role(slot) == .norm
            let values: [Float] = (0..<shape.reduce(1, *)).map { k in weight(Double(k), slot: Double(s), norm: norm) }
            p[slot] = Weight(try! Tensor(shape: shape, values: values))
        }
        return LlamaModel(configuration: c, parameters: p)
    }

    static func weight(_ k: Double, slot s: Double, norm: Bool) -> Float {
        let value: Double = norm ? 1 + 0.25 * cos(0.9 * k + s) : 0.4 * sin(0.61 * k + 1.7 * s + 0.3)
        return Float(value)
    }

    /// CLEX T = 4, λ = 1, tanh, h = 0.01 with U[i,k] = 0.3·sin(0.37i + 0.11k), D[k,i] = 0.2·cos(0.23k − 0.19i).
    static func clex(_ model: LlamaModel) throws -> any PositionalMethod {
        let method = try PositionalConfiguration(model: model.configuration, scheme: .clex(CLEXParameters(maxFactor: 4)))
            .makeMethod(seed: 0)
        var up: [Float] = [], down: [Float] = []
        for e in 0..<32 {
            let (i, k) = (Double(e / 8), Double(e % 8))   // U[i, k], row-major [4, 8]
            up.append(Float(0.3 * sin(0.37 * i + 0.11 * k)))
            let (kd, id) = (Double(e / 4), Double(e % 4))   // D[k, i], row-major [8, 4]
            down.append(Float(0.2 * cos(0.23 * kd - 0.19 * id)))
        }
        try method.setLearnedParameter(CLEXCheckpointNames.up, to: try Tensor(shape: [4, 8], values: up))
        try method.setLearnedParameter(CLEXCheckpointNames.down, to: try Tensor(shape: [8, 4], values: down))
        return method
    }

    @Test("reference and cached reproduce the port's numbers", arguments: 0..<3)
    func golden(index: Int) throws {
        let g = Self.golden[index]
        let model = Self.model()
        let positional = try Self.clex(model)
        let stream: [Int32] = (0..<64).map { (k: Int) -> Int32 in Int32((3 * k * k + 5 * k + 1) % 32) }
        let make: (Int) throws -> InferenceSession = { try InferenceSession(model: model, capacity: $0, positional: positional, cacheTypes: .f32) }
        let reference = try PerplexityProtocol.reference(chunk: g.chunk).evaluate(tokens: stream, length: g.n, maxWindows: 2,
                                                                                 makeSession: make)
        let ours = try PerplexityProtocol.cached(chunk: g.chunk).evaluate(tokens: stream, length: g.n, maxWindows: 2, makeSession: make)
        #expect(reference.windows == 2 && ours.windows == 2)
        #expect(abs(reference.meanNLL - g.reference) <= 1e-6 * g.reference, "\(reference.meanNLL) vs \(g.reference)")
        #expect(abs(ours.meanNLL - g.ours) <= 1e-6 * g.ours, "\(ours.meanNLL) vs \(g.ours)")
    }
}
