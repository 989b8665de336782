import CLEXModel
import CLEXTensor
import Foundation
import Testing

/// Every family can be fine-tuned: the tape's gradients of the next-token loss with respect to
/// the weights each family adds (biases, LayerNorm biases, the MoE router and experts, fused
/// q/k/v parts) match central finite differences on the golden fixtures.
@Suite("families: gradients of the loss match finite differences")
struct FamilyGradientTests {
    static let cases: [(fixture: String, slots: [CheckpointNames.Slot])] = [
        ("phi2-clex", [.layer(0, .queryBias), .layer(1, .attentionNormBias), .layer(0, .upBias), .layer(1, .downBias),
                       .outputHeadBias, .finalNormBias, .layer(0, .up)]),
        ("gptneox-sequential", [.layer(0, .keyBias), .layer(1, .mlpNormBias), .layer(0, .value), .finalNorm]),
        ("mixtral-clex", [.layer(0, .router), .layer(1, .expertGate), .layer(0, .expertUp), .layer(1, .expertDown)]),
    ]

    @Test("analytic gradient equals the central difference", arguments: 0..<3)
    func gradients(index: Int) throws {
        let (fixture, slots) = Self.cases[index]
        let loaded = try ModelLoader.load(FamilyGoldenTests.directory(fixture))
        let method = try loaded.positionalMethod().method
        let model = LlamaModel(configuration: loaded.model.configuration, parameters: loaded.model.parameters.floatCopy())
        let tokens = Array(try FamilyGoldenTests.golden(fixture).tokens.prefix(20))
        func loss(_ tape: Tape, _ weights: LlamaWeights) throws -> Variable {
            let inputs = try method.inferenceInputs(positions: (0..<19).map(Float.init), contextLength: 19, tape: tape)
            return model.forward(tokens: Array(tokens.dropLast()), weights: weights, positions: inputs)
                .crossEntropy(targets: Array(tokens.dropFirst()))
        }
        func value() throws -> Double {
            let tape = Tape()
            return Double(try loss(tape, model.weights(on: tape, trainable: false)).value.item)
        }
        let tape = Tape()
        let weights = model.weights(on: tape, trainable: true)
        tape.backward(try loss(tape, weights))
        for slot in slots {
            let parameter = model.parameters[slot]!.floatTensor!
            let gradient = tape.gradient(weights[slot]!)!
            var rng = SeededGenerator(seed: 7)
            for _ in 0..<4 {
                let i = Int(rng.next() % UInt64(parameter.count))
                let saved = parameter.pointer[i]
                let h: Float = 1e-2
                parameter.pointer[i] = saved + h
                let up = try value()
                parameter.pointer[i] = saved - h
                let down = try value()
                parameter.pointer[i] = saved
                let numeric = (up - down) / Double(2 * h)
                let analytic = Double(gradient.pointer[i])
                #expect(abs(numeric - analytic) <= 2e-2 * max(abs(analytic), abs(numeric)) + 1e-4,
                        "\(fixture) \(slot) element \(i): analytic \(analytic), numeric \(numeric)")
            }
        }
    }
}
