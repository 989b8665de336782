import CLEXModel
import CLEXTensor
import Foundation
import Testing

/// `partial_rotary_factor` on a LLaMA config: only the first factor·head_dim elements of each head
/// rotate, in the session (cache, prefill and decode) as on the tape (before, the config was
/// accepted and the first forward stopped: "rope: frequencies of shape [8] must be [16]").
@Suite("partial rotary factor")
struct PartialRotaryTests {
    static let config = """
    {"model_type": "llama", "vocab_size": 40, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
     "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 64, "partial_rotary_factor": 0.5,
     "rope_scaling": {"type": "linear", "factor": 2}}
    """

    @Test("the session equals the tape forward, and both rotate only the rotary part")
    func sessionEqualsTape() throws {
        let c = try LlamaConfiguration(hfConfig: Data(Self.config.utf8), source: "config.json")
        #expect(c.rotaryDimension == 8 && c.headDimension == 16)
        let positional = try PositionalConfiguration(hfConfig: Data(Self.config.utf8), model: c, source: "config.json")
        #expect(positional.rotaryDimension == 8)
        let method = try positional.makeMethod(seed: 0)
        let model = LlamaModel(configuration: c, parameters: LlamaParameters(randomFor: c, seed: 5).map { _, w in
            Weight(Ops.scale(w.tensor, 20))    // large weights: positions matter to the logits
        })
        let tokens: [Int32] = (0..<24).map { Int32(($0 * 7 + 3) % 40) }
        let session = try InferenceSession(model: model, capacity: 24, positional: method, precision: .float32, cacheTypes: .f32)
        var ours = try session.feed(Array(tokens.prefix(20))).scalars
        for t in tokens.dropFirst(20) { ours += try session.feed([t]).scalars }

        func tape(_ m: LlamaModel, _ method: any PositionalMethod) throws -> [Float] {
            let tape = Tape()
            let inputs = try method.inferenceInputs(positions: (0..<24).map(Float.init), contextLength: 24, tape: tape)
            return m.forward(tokens: tokens, weights: m.weights(on: tape, trainable: false), positions: inputs).value.scalars
        }
        let reference = try tape(model, method)
        let scale = reference.map(abs).max()!
        #expect(zip(ours, reference).allSatisfy { abs($0 - $1) <= 1e-5 * scale })

        // Rotating whole heads gives other logits: the test can tell the two apart.
        var whole = model
        whole.configuration.rotaryDimension = 16
        let wholeMethod = try PositionalConfiguration(ropeObject: ["type": "linear", "factor": 2], model: whole.configuration,
                                                      source: "test").makeMethod(seed: 0)
        let wrong = try tape(whole, wholeMethod)
        #expect(zip(wrong, reference).contains { abs($0 - $1) > 1e-3 * scale })
    }
}
