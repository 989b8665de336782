import CLEXModel
import CLEXTensor
import Foundation

/// A small random LLaMA (2 layers unless asked, width 48, 6 query / 2 key-value heads of 8) for
/// tests that need a model but not a trained one; weights are scaled up from the init so logits
/// vary (as CLEXModelTests' tiny model). `vocabulary` 257 fits `ByteTokenizer`.
func tinyModel(vocabulary: Int = 61, context: Int = 64, seed: UInt64 = 3, layers: Int = 2) -> LlamaModel {
    let c = LlamaConfiguration(vocabularySize: vocabulary, hiddenSize: 48, intermediateSize: 80, layerCount: layers,
                               headCount: 6, keyValueHeadCount: 2, rmsNormEpsilon: 1e-5, ropeTheta: 10000,
                               maxPositionEmbeddings: context, tieWordEmbeddings: false, rotaryLayout: .rotateHalf)
    var p = LlamaParameters(randomFor: c, seed: seed)
    var rng = SeededGenerator(seed: seed + 100)
    for slot in CheckpointNames.slots(layers: c.layerCount, tied: false) {
        let t = p[slot]!.tensor
        let scaled = Ops.scale(t, 4)
        if t.rank == 1 {
            for i in 0..<t.count { scaled.pointer[i] = 1 + 0.3 * rng.nextNormal() }
        }
        p[slot] = Weight(scaled)
    }
    return LlamaModel(configuration: c, parameters: p)
}

/// Random token ids in 0 ..< `vocabulary`.
func randomTokens(_ count: Int, vocabulary: Int = 61, seed: UInt64 = 7) -> [Int32] {
    var rng = SeededGenerator(seed: seed)
    return (0..<count).map { _ in Int32(Int.random(in: 0..<vocabulary, using: &rng)) }
}

/// A positional method of `model` with `scheme` (plain RoPE by default).
func method(_ model: LlamaModel, _ scheme: PositionalScheme = .none, context: Int? = nil) throws -> any PositionalMethod {
    var c = PositionalConfiguration(model: model.configuration, scheme: scheme)
    if let context { c.contextLength = context }
    return try c.makeMethod(seed: 1)
}

/// Negative log-likelihoods of `window[j]`, j = 1 ..< n, from one forward of the whole window
/// without a KV cache (positions 0 … n−1, the rotation of a context of n tokens), with the
/// log-softmax in Double.
func bruteForceNLL(_ model: LlamaModel, _ positional: any PositionalMethod, _ window: [Int32]) throws -> [Double] {
    let tape = Tape()
    let inputs = try positional.inferenceInputs(positions: window.indices.map(Float.init), contextLength: window.count, tape: tape)
    let logits = model.forward(tokens: window, weights: model.weights(on: tape, trainable: false), positions: inputs).value
    let v = logits.shape[1]
    return (1..<window.count).map { j in
        let row = (0..<v).map { Double(logits.pointer[(j - 1) * v + $0]) }
        let m = row.max()!
        let logSum = Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) }) + m
        return logSum - row[Int(window[j])]
    }
}

/// A fresh temporary directory.
func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "clex-eval-test-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
