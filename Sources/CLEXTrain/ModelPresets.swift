import CLEXModel

/// Model sizes for pretraining from scratch. Counts below are for the 257-id byte vocabulary;
/// a larger vocabulary adds vocabulary × width (tied embeddings).
///
/// | preset | width | layers | heads (kv) × dim | MLP | parameters |
/// |---|---|---|---|---|---|
/// | tiny  | 192 | 4 | 6 (2) × 32 | 512  | ≈ 1.6 M |
/// | small | 384 | 8 | 6 (2) × 64 | 1024 | ≈ 12.7 M |
public enum ModelPreset: String, CaseIterable, Sendable {
    case tiny, small

    /// The configuration for a vocabulary of `vocabularySize` and training window `context`.
    public func configuration(vocabularySize: Int, context: Int, eosTokenID: Int?) -> LlamaConfiguration {
        let (width, layers, heads, kv, mlp) = self == .tiny ? (192, 4, 6, 2, 512) : (384, 8, 6, 2, 1024)
        return LlamaConfiguration(vocabularySize: vocabularySize, hiddenSize: width, intermediateSize: mlp,
                                  layerCount: layers, headCount: heads, keyValueHeadCount: kv,
                                  rmsNormEpsilon: 1e-5, ropeTheta: 10000, maxPositionEmbeddings: context,
                                  tieWordEmbeddings: true, bosTokenID: nil, eosTokenIDs: eosTokenID.map { [$0] } ?? [])
    }
}
