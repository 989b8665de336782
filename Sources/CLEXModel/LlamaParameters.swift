import CLEXTensor

/// The weights of one transformer block. Linear weights are [out, in], as HF stores them.
public struct LlamaLayerParameters: Sendable {
    public var attentionNorm: Tensor   // [E]
    public var query: Tensor           // [Hq·D, E]
    public var key: Tensor             // [Hkv·D, E]
    public var value: Tensor           // [Hkv·D, E]
    public var output: Tensor          // [E, Hq·D]
    public var mlpNorm: Tensor         // [E]
    public var gate: Tensor            // [F, E]
    public var up: Tensor              // [F, E]
    public var down: Tensor            // [E, F]
}

/// All weights of a LLaMA model.
public struct LlamaParameters: Sendable {
    public var embedding: Tensor       // [V, E]
    public var layers: [LlamaLayerParameters]
    public var finalNorm: Tensor       // [E]
    /// [V, E]; nil when tied to `embedding`.
    public var outputHead: Tensor?

    /// Fresh weights for pretraining: N(0, 0.02²) matrices (HF `initializer_range`), the output
    /// projections of each block scaled by 1/√(2·layers) (GPT-2's residual scaling), norms at 1.
    public init(randomFor c: LlamaConfiguration, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let (e, f, d) = (c.hiddenSize, c.intermediateSize, c.headDimension)
        let std: Float = 0.02
        let residualStd = std / Float(2 * c.layerCount).squareRoot()
        func normal(_ shape: [Int], _ s: Float) -> Tensor { Tensor.randomNormal(shape, std: s, generator: &rng) }
        embedding = normal([c.vocabularySize, e], std)
        layers = (0..<c.layerCount).map { _ in
            LlamaLayerParameters(
                attentionNorm: Tensor(shape: [e], repeating: 1),
                query: normal([c.headCount * d, e], std),
                key: normal([c.keyValueHeadCount * d, e], std),
                value: normal([c.keyValueHeadCount * d, e], std),
                output: normal([e, c.headCount * d], residualStd),
                mlpNorm: Tensor(shape: [e], repeating: 1),
                gate: normal([f, e], std),
                up: normal([f, e], std),
                down: normal([e, f], residualStd))
        }
        finalNorm = Tensor(shape: [e], repeating: 1)
        outputHead = c.tieWordEmbeddings ? nil : normal([c.vocabularySize, e], std)
    }

    /// Weights from parts (a loader fills these after checking every shape).
    public init(embedding: Tensor, layers: [LlamaLayerParameters], finalNorm: Tensor, outputHead: Tensor?) {
        self.embedding = embedding
        self.layers = layers
        self.finalNorm = finalNorm
        self.outputHead = outputHead
    }
}
