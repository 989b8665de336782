import CLEXModel
import CLEXTokenizer

/// Uses what a target built from an accepted input, as the product would: a tokenizer encodes
/// and decodes text, a positional configuration makes its method and answers for a few context
/// lengths. A parser that accepts something inconsistent is caught here, where the trap would be.
enum FuzzExercise {
    /// Text with ASCII, digits, specials written out, SentencePiece's "▁", accents, CJK and
    /// control characters.
    static let sampleText = "Hello, world! 123 <s></s><|im_start|>user\n \u{2581}é 日本 \t  x<unk><0x41>"

    /// Encodes and decodes `sampleText` every way, decodes ids around the vocabulary's edges.
    static func tokenizer(_ t: any Tokenizer) {
        let ids = t.encode(sampleText, addSpecial: true, parseSpecial: true)
        _ = t.encode(sampleText, addSpecial: false, parseSpecial: false)
        _ = t.decode(ids)
        let edges: [Int32] = [-1, 0, 1, 2, Int32(clamping: t.vocabularySize - 1), Int32(clamping: t.vocabularySize), .max]
        _ = t.decodeBytes(ids + edges, skipSpecial: true)
        var incremental = t.decodeIncrementally()
        for id in ids + edges { _ = incremental.append(id) }
        _ = incremental.finish()
        for id in edges {
            if let token = t.token(forID: id) { _ = t.id(forToken: token) }
            _ = t.isSpecial(id)
        }
    }

    /// Makes the method and queries it at a few context lengths around L. A CLEX solve is
    /// skipped when its work (steps × d × λd) would take more than a few milliseconds: that is
    /// a legitimate cost of a legitimate configuration, not a parser's doing.
    static func positional(_ configuration: PositionalConfiguration) throws {
        try method(configuration.makeMethod(seed: 0))
    }

    /// Queries `method` at a few context lengths around L.
    static func method(_ method: any PositionalMethod) throws {
        let configuration = method.configuration
        if case .clex(let p) = configuration.scheme {
            let d = Double(configuration.rotaryDimension)
            let steps = (Double(p.maxFactor) - 1) / p.timeStep
            if steps * d * d * Double(p.paramFactor) > 2e6 { return }
        }
        let L = configuration.contextLength
        for n in [1, L, L + 1, 2 * L + 3] {
            do { _ = try method.inference(contextLength: n) } catch is PositionalError {}
            _ = method.nextRotationChange(after: n)
        }
    }

    /// The loaded model's positional method (with a CLEX checkpoint's tensors) and tokenizer.
    static func loaded(_ model: LoadedModel) throws {
        try method(model.positionalMethod().method)
        if let t = model.tokenizer { tokenizer(t) }
    }
}
