import CLEXModel
import CLEXTensor
import Foundation

/// A small random LLaMA (2 layers unless asked, width 48, 6 query / 2 key-value heads of 8) for
/// tests that need a model but not a trained one. Weights are scaled up from the init so logits
/// vary.
func tinyModel(tied: Bool = false, layout: RotaryLayout = .rotateHalf, seed: UInt64 = 3, layers: Int = 2) -> LlamaModel {
    let c = LlamaConfiguration(vocabularySize: 61, hiddenSize: 48, intermediateSize: 80, layerCount: layers,
                               headCount: 6, keyValueHeadCount: 2, rmsNormEpsilon: 1e-5, ropeTheta: 10000,
                               maxPositionEmbeddings: 64, tieWordEmbeddings: tied, rotaryLayout: layout)
    var p = LlamaParameters(randomFor: c, seed: seed)
    var rng = SeededGenerator(seed: seed + 100)
    for slot in CheckpointNames.slots(layers: c.layerCount, tied: tied) {
        let t = p[slot]!.tensor
        let scaled = Ops.scale(t, 4)
        if t.rank == 1 {
            // Norm weights around 1 with some spread.
            for i in 0..<t.count { scaled.pointer[i] = 1 + 0.3 * rng.nextNormal() }
        }
        p[slot] = Weight(scaled)
    }
    return LlamaModel(configuration: c, parameters: p)
}

/// Logits of `tokens` read in one prefill with plain RoPE and a Float32 KV cache (the paths
/// compared with it differ in summation order, which an F16 cache's rounding would amplify).
func prefillLogits(_ model: LlamaModel, _ tokens: [Int32], precision: ActivationPrecision = .q8) throws -> Tensor {
    let session = try InferenceSession(model: model, capacity: tokens.count,
                                       rotary: InferenceSession.defaultRotary(model.configuration), precision: precision,
                                       cacheTypes: .f32)
    return try session.feed(tokens)
}

/// Largest difference between the rows of two logit tables, relative to the row's largest
/// magnitude: max_i |a_i − b_i| / max_i |b_i|, worst over rows. (Per-element relative error is
/// meaningless for logits near zero; this is the scale at which a wrong token choice appears.)
func worstRelativeError(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape && a.rank == 2)
    let v = a.shape[1]
    var worst: Float = 0
    for r in 0..<a.shape[0] {
        var diff: Float = 0, scale: Float = 0
        for i in (r * v)..<((r + 1) * v) {
            diff = max(diff, abs(a.pointer[i] - b.pointer[i]))
            scale = max(scale, abs(b.pointer[i]))
        }
        worst = max(worst, diff / max(scale, 1e-30))
    }
    return worst
}

/// A fresh temporary directory.
func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "clex-test-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
