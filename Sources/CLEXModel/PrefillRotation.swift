/// How `InferenceSession.feed` chooses the rotation of the tokens one call reads, for positional
/// methods whose rotation depends on the context length (CLEX, dynamic NTK, LongRoPE); static
/// methods and ALiBi give the same logits either way.
public enum PrefillRotation: String, Sendable, CaseIterable {
    /// Ours (the default): every token gets the rotation of the context up to and including
    /// itself. A feed is split where the method's rotation changes (`rotationSegments`: for CLEX
    /// at multiples of L), so a prefill gives the logits of feeding its tokens one at a time.
    case split
    /// The CLEX reference's: one rotation for the whole feed, that of the context at the feed's
    /// end. Its `model(input_ids, past_key_values=…)` computes t from `seq_length +
    /// past_key_values_length` (modeling_llama_clex.py, `LlamaModel.forward`) and rotates every
    /// query and every cached (un-rotated) key with it, so keys already in the cache take the
    /// new rotation too (as in our cache, which rotates keys as attention reads them).
    case single
}
