/// The 7-int32 header of a llama2.c checkpoint (`Config` in karpathy/llama2.c `run.c`).
public struct Llama2CConfig: Sendable, Equatable {
    /// Transformer width.
    public var dim: Int
    /// Feed-forward width.
    public var hiddenDim: Int
    /// Number of layers.
    public var layerCount: Int
    /// Number of query heads.
    public var headCount: Int
    /// Number of key/value heads (fewer than `headCount` for grouped-query attention).
    public var kvHeadCount: Int
    /// Vocabulary size (always positive here; the file stores it negated when the classifier is
    /// not shared with the embedding).
    public var vocabSize: Int
    /// Maximum sequence length.
    public var seqLen: Int
    /// Whether `lm_head` is the token embedding (a positive vocab size in the file).
    public var sharedClassifier: Bool

    /// A configuration; no validation (done when reading a file).
    public init(dim: Int, hiddenDim: Int, layerCount: Int, headCount: Int, kvHeadCount: Int, vocabSize: Int,
                seqLen: Int, sharedClassifier: Bool) {
        self.dim = dim
        self.hiddenDim = hiddenDim
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.vocabSize = vocabSize
        self.seqLen = seqLen
        self.sharedClassifier = sharedClassifier
    }

    /// `dim / headCount`.
    public var headSize: Int { dim / headCount }

    /// The seven header int32s as `run.c` reads them (vocab size negated for an unshared classifier).
    public var headerFields: [Int32] {
        [dim, hiddenDim, layerCount, headCount, kvHeadCount, sharedClassifier ? vocabSize : -vocabSize, seqLen]
            .map { Int32(truncatingIfNeeded: $0) }
    }

    /// The header fields as metadata (`dim`, `hidden_dim`, `n_layers`, `n_heads`, `n_kv_heads`,
    /// `vocab_size`, `seq_len` as int32, `shared_classifier` as bool).
    func metadataEntries() -> [(key: String, value: MetadataValue)] {
        let ints: [(String, Int)] = [("dim", dim), ("hidden_dim", hiddenDim), ("n_layers", layerCount),
                                     ("n_heads", headCount), ("n_kv_heads", kvHeadCount), ("vocab_size", vocabSize),
                                     ("seq_len", seqLen)]
        return ints.map { ($0.0, MetadataValue.int32(Int32(truncatingIfNeeded: $0.1))) }
            + [("shared_classifier", .bool(sharedClassifier))]
    }
}
