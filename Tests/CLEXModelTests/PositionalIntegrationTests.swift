import CLEXModel
import CLEXTensor
import Foundation
import Testing

/// The positional interface driving the model and its KV cache: a prefill split with
/// `rotationSegments` (re-rotating the cache where the rotation changes) gives the logits of
/// feeding the tokens one at a time, for every method whose rotation depends on the context.
/// Both paths run the same Float32 kernels in a different grouping (measured: bit-identical
/// here); 2e-4 absolute on logits of magnitude ≈ 1–10 would still cover reordered sums, while
/// another rotation moves them by ≈ 1e-2 or more (checked: the single-chunk prefill differs).
@Suite("Positional methods with the model") struct PositionalIntegrationTests {
    static let model = LlamaConfiguration(vocabularySize: 40, hiddenSize: 32, intermediateSize: 48, layerCount: 2,
                                          headCount: 2, keyValueHeadCount: 1, maxPositionEmbeddings: 6)

    static func methods() throws -> [(String, any PositionalMethod)] {
        let clex = try #require(try PositionalConfiguration(model: model, scheme: .clex(CLEXParameters(maxFactor: 4, timeStep: 0.05)))
            .makeMethod(seed: 1) as? CLEXPositional)
        var g = SeededGenerator(seed: 4)
        try clex.setLearnedParameter(CLEXCheckpointNames.down, to: Tensor.randomUniform([16, 8], low: -0.3, high: 0.3, generator: &g))
        let short = (0..<8).map { 1 + Double($0) / 16 }, long = (0..<8).map { 1 + Double($0) }
        let longRoPE = PositionalScheme.longRoPE(LongRoPEParameters(shortFactor: short, longFactor: long,
                                                                    originalContextLength: 6, factor: 4))
        return [("clex", clex),
                ("dynamic", try PositionalConfiguration(model: model, scheme: .dynamic(factor: 4)).makeMethod()),
                ("longrope", try PositionalConfiguration(model: model, scheme: longRoPE).makeMethod())]
    }

    /// Logits of `tokens` fed in chunks ending at the given context lengths.
    static func run(_ method: any PositionalMethod, _ model: LlamaModel, tokens: [Int32], chunkEnds: [Int]) throws -> [Float] {
        let cache = KVCache(configuration: model.configuration, capacity: tokens.count)
        var logits: [Float] = []
        var start = 0
        for end in chunkEnds {
            let tape = Tape()
            let r = try #require(try method.inference(contextLength: end))
            cache.rerotate(to: r.frequencyTensor, attentionFactor: r.attentionFactor, layout: .rotateHalf, rotaryDim: nil)
            let inputs = try method.inferenceInputs(positions: (start..<end).map(Float.init), contextLength: end, tape: tape)
            let out = model.forward(tokens: Array(tokens[start..<end]), weights: model.weights(on: tape, trainable: false),
                                    positions: inputs, cache: cache)
            logits += out.value.scalars
            start = end
        }
        return logits
    }

    @Test("segmented prefill with cache re-rotation equals token-by-token decoding")
    func segmentedPrefill() throws {
        // Pretraining init (std 0.02) makes attention nearly uniform whatever the rotation;
        // larger q/k/v/o and head weights make the logits depend on positions at O(1).
        let parameters = LlamaParameters(randomFor: Self.model, seed: 3)
        func scale(_ t: Tensor, _ s: Float) { for i in 0..<t.count { t.pointer[i] *= s } }
        for layer in parameters.layers {
            scale(layer.query.floatTensor!, 15)
            scale(layer.key.floatTensor!, 15)
            scale(layer.value.floatTensor!, 25)
            scale(layer.output.floatTensor!, 25)
        }
        scale(parameters.outputHead!.floatTensor!, 25)
        let model = LlamaModel(configuration: Self.model, parameters: parameters)
        var g = SeededGenerator(seed: 8)
        let tokens = (0..<17).map { _ in Int32.random(in: 0..<40, using: &g) }
        for (name, method) in try Self.methods() {
            let oneByOne = try Self.run(method, model, tokens: tokens, chunkEnds: Array(1...17))
            let segments = method.rotationSegments(cached: 0, total: 17)
            #expect(segments.count > 1, "\(name)")
            let segmented = try Self.run(method, model, tokens: tokens, chunkEnds: segments)
            let worst = zip(oneByOne, segmented).map { abs($0 - $1) }.max()!
            #expect(worst < 2e-4, "\(name): \(worst)")
            let whole = try Self.run(method, model, tokens: tokens, chunkEnds: [17])
            #expect(zip(oneByOne, whole).map { abs($0 - $1) }.max()! > 1e-2, "\(name): one chunk should differ")
        }
    }
}
