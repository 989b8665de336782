import CLEXTensor

extension InferenceSession {
    /// A session whose rotation comes from a positional method: for every chunk of new tokens it
    /// asks the method for the rotation of the context up to the chunk's end (which every cached
    /// key then takes too), and — under `prefill` `.split`, the default — splits prefills where
    /// the method's rotation changes (`rotationSegments`), so a prefill gives the same logits as
    /// token-by-token decoding; `.single` gives each feed the rotation of its end.
    public convenience init(model: LlamaModel, capacity: Int, positional: any PositionalMethod,
                            precision: ActivationPrecision = .q8, prefill: PrefillRotation = .split,
                            cacheTypes: KVCacheTypes = .f16) throws {
        try self.init(model: model, capacity: capacity,
                  rotary: { n in
                      try positional.inference(contextLength: n).map { ($0.frequencies, $0.attentionFactor, $0.queryScale) }
                  },
                  alibiSlopes: positional.alibiSlopes,
                  boundaries: { from, to in positional.rotationSegments(cached: from, total: to) },
                  precision: precision, cacheTypes: cacheTypes)
        self.prefill = prefill
    }
}
