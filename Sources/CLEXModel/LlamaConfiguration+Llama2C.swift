import CLEXFormats

/// Reading a configuration from a llama2.c header.
extension LlamaConfiguration {
    /// The configuration a llama2.c checkpoint implies: its header's sizes, RMSNorm ε 1e-5, RoPE
    /// base 10000, interleaved rotation (llama2.c rotates adjacent pairs), BOS 1 and EOS 2 (its
    /// SentencePiece vocabulary). Call `validate(source:)` before use.
    public init(llama2c c: Llama2CConfig) {
        self.init(vocabularySize: c.vocabSize, hiddenSize: c.dim, intermediateSize: c.hiddenDim,
                  layerCount: c.layerCount, headCount: c.headCount, keyValueHeadCount: c.kvHeadCount,
                  rmsNormEpsilon: 1e-5, ropeTheta: 10000, maxPositionEmbeddings: c.seqLen,
                  tieWordEmbeddings: c.sharedClassifier, rotaryLayout: .interleaved, bosTokenID: 1, eosTokenIDs: [2])
    }
}
