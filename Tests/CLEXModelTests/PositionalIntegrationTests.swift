import CLEXModel
import CLEXTensor
import Foundation
import Testing

/// The positional interface driving the model and its KV cache, for every method whose rotation
/// depends on the context. The cache stores keys un-rotated and attention rotates every cached
/// key with the rotation of the current context as it reads them (what re-rotating the cache
/// did). So in a one-layer model (keys straight from the embeddings) token i's logits are those
/// of the prefix 0…i computed from scratch on the tape with the rotation of i + 1 tokens; in a
/// deeper model (whose later keys depend on hidden states computed under earlier rotations)
/// decoding one token at a time, a prefill split with `rotationSegments` and pieces across the
/// segments agree. A Float32 session runs the same math in another grouping, within 2e-4
/// absolute on logits of magnitude ≈ 1–10, while another rotation moves them by ≈ 1e-2 or more
/// (checked: one rotation for the whole sequence differs).
@Suite("Positional methods with the model") struct PositionalIntegrationTests {
    static func model(layers: Int) -> LlamaConfiguration {
        LlamaConfiguration(vocabularySize: 40, hiddenSize: 32, intermediateSize: 48, layerCount: layers, headCount: 2,
                           keyValueHeadCount: 1, maxPositionEmbeddings: 12)
    }
    static let model = model(layers: 2)

    static func methods() throws -> [(String, any PositionalMethod)] {
        let clex = try #require(try PositionalConfiguration(model: model, scheme: .clex(CLEXParameters(maxFactor: 4, timeStep: 0.05)))
            .makeMethod(seed: 1) as? CLEXPositional)
        var g = SeededGenerator(seed: 4)
        try clex.setLearnedParameter(CLEXCheckpointNames.down, to: Tensor.randomUniform([16, 8], low: -0.3, high: 0.3, generator: &g))
        let short = (0..<8).map { 1 + Double($0) / 16 }, long = (0..<8).map { 1 + Double($0) }
        let longRoPE = PositionalScheme.longRoPE(LongRoPEParameters(shortFactor: short, longFactor: long,
                                                                    originalContextLength: 12, factor: 4))
        // log_scale: the query factor ln n / ln L changes with every token, the rotation at
        // multiples of L only.
        let logScaled = try #require(try PositionalConfiguration(model: model, scheme: .clex(CLEXParameters(maxFactor: 4,
                                                                 timeStep: 0.05, logScale: true))).makeMethod(seed: 1) as? CLEXPositional)
        try logScaled.setLearnedParameter(CLEXCheckpointNames.down, to: Tensor.randomUniform([16, 8], low: -0.3, high: 0.3, generator: &g))
        return [("clex", clex), ("clex log_scale", logScaled),
                ("dynamic", try PositionalConfiguration(model: model, scheme: .dynamic(factor: 4)).makeMethod()),
                ("longrope", try PositionalConfiguration(model: model, scheme: longRoPE).makeMethod())]
    }

    /// A random model of `layers` layers whose logits depend on positions at O(1): pretraining
    /// init (std 0.02) makes attention nearly uniform whatever the rotation, so the q/k/v/o and
    /// head weights are scaled up.
    static func positionSensitive(layers: Int) -> LlamaModel {
        let parameters = LlamaParameters(randomFor: model(layers: layers), seed: 3)
        func scale(_ t: Tensor, _ s: Float) { for i in 0..<t.count { t.pointer[i] *= s } }
        for layer in parameters.layers {
            scale(layer.query.floatTensor!, 15)
            scale(layer.key.floatTensor!, 15)
            scale(layer.value.floatTensor!, 25)
            scale(layer.output.floatTensor!, 25)
        }
        scale(parameters.outputHead!.floatTensor!, 25)
        return LlamaModel(configuration: model(layers: layers), parameters: parameters)
    }

    /// Logits of the whole of `tokens` on the tape with the rotation of a context of `length`.
    static func fromScratch(_ method: any PositionalMethod, _ model: LlamaModel, tokens: [Int32], length: Int) throws -> Tensor {
        let tape = Tape()
        let inputs = try method.inferenceInputs(positions: (0..<tokens.count).map(Float.init), contextLength: length, tape: tape)
        return model.forward(tokens: tokens, weights: model.weights(on: tape, trainable: false), positions: inputs).value
    }

    /// The logits of `tokens` fed in chunks ending at `chunkEnds` through a KV cache whose keys
    /// take the rotation of each chunk's end, for a one-layer model: there every key comes
    /// straight from its embedding, so chunk [start, end) is rows start..<end of the prefix
    /// 0..<end computed from scratch with the rotation of `end`.
    static func chunkReference(_ method: any PositionalMethod, _ model: LlamaModel, tokens: [Int32], chunkEnds: [Int]) throws -> [Float] {
        precondition(model.configuration.layerCount == 1, "the prefix reference holds for one layer only")
        var start = 0
        return try chunkEnds.flatMap { end in
            defer { start = end }
            return try fromScratch(method, model, tokens: Array(tokens[0..<end]), length: end).slice(rows: start..<end).scalars
        }
    }

    /// Logits of `tokens` fed to a Float32 session in pieces of the given sizes.
    static func session(_ method: any PositionalMethod, _ model: LlamaModel, tokens: [Int32], pieces: [Int]) throws -> [Float] {
        let session = try InferenceSession(model: model, capacity: tokens.count, positional: method, precision: .float32,
                                           cacheTypes: .f32)
        var start = 0
        return try pieces.flatMap { n in
            defer { start += n }
            return try session.feed(Array(tokens[start..<(start + n)])).scalars
        }
    }

    @Test("keys rotated as they are read: one layer equals each prefix from scratch; decoding equals segmented prefill",
          arguments: [1, 2])
    func rotationOnRead(layers: Int) throws {
        let model = Self.positionSensitive(layers: layers)
        var g = SeededGenerator(seed: 8)
        let tokens = (0..<40).map { _ in Int32.random(in: 0..<40, using: &g) }
        for (name, method) in try Self.methods() {
            let oneByOne = try Self.session(method, model, tokens: tokens, pieces: Array(repeating: 1, count: 40))
            let expected = layers == 1 ? try Self.chunkReference(method, model, tokens: tokens, chunkEnds: Array(1...40)) : oneByOne
            let segments = method.rotationSegments(cached: 0, total: 40)
            #expect(segments.count > 1, "\(name)")
            // One token at a time (decode attention), the whole sequence (prefill path, split at
            // the segments), and pieces that cross segment boundaries.
            for pieces in [Array(repeating: 1, count: 40), [40], [3, 10, 1, 20, 6]] {
                let got = try Self.session(method, model, tokens: tokens, pieces: pieces)
                let worst = zip(expected, got).map { abs($0 - $1) }.max()!
                #expect(worst < 2e-4, "\(name), \(layers) layer(s), pieces \(pieces): \(worst)")
            }
            let whole = try Self.fromScratch(method, model, tokens: tokens, length: 40).scalars
            #expect(zip(expected, whole).map { abs($0 - $1) }.max()! > 1e-2, "\(name): one rotation for all should differ")
        }
    }
}
