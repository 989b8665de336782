import CLEXModel
import CLEXTensor
import Foundation

/// A tiny LLaMA over the 257-token byte vocabulary: 2 layers, width 32, 4 query / 2 key-value
/// heads of 8, MLP 64, training window L = 16.
func tinyTrainingModel(seed: UInt64 = 1, tied: Bool = true) -> LlamaModel {
    let c = LlamaConfiguration(vocabularySize: 257, hiddenSize: 32, intermediateSize: 64, layerCount: 2,
                               headCount: 4, keyValueHeadCount: 2, rmsNormEpsilon: 1e-5, ropeTheta: 10000,
                               maxPositionEmbeddings: 16, tieWordEmbeddings: tied, bosTokenID: nil, eosTokenIDs: [256])
    return LlamaModel(configuration: c, parameters: LlamaParameters(randomFor: c, seed: seed))
}

/// The positional methods the trainer supports, by name, for a model.
func positionalMethod(_ name: String, _ model: LlamaModel, timeStep: Double = 0.25) throws -> any PositionalMethod {
    let c = model.configuration
    let scheme: PositionalScheme
    switch name {
    case "rope": scheme = .none
    case "pi": scheme = .linear(factor: 2)
    case "yarn": scheme = .yarn(YaRNParameters(factor: 2, originalContextLength: c.maxPositionEmbeddings))
    case "alibi": scheme = .alibi
    case "clex": scheme = .clex(CLEXParameters(maxFactor: 4, timeStep: timeStep))
    default: fatalError("unknown method \(name)")
    }
    return try PositionalConfiguration(model: c, scheme: scheme).makeMethod(seed: 5)
}

func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "clex-train-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Bytes of `text` as token ids.
func byteTokens(_ text: String) -> [Int32] { text.utf8.map { Int32($0) } }

let sampleText = String(repeating: "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. ", count: 6)
