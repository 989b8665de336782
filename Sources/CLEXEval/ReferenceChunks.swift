/// Which tokens the CLEX reference's `calculate_perplexity` (train/utils.py) scores in one
/// sequence of n tokens fed in chunks of C, and with what weight.
///
/// The reference feeds `input_ids[:, i:i+C]` for i = 0, C, 2C, … with `past_key_values` and
/// `labels=input_ids` (the chunk itself), so the model's loss shifts within the chunk: logits of
/// chunk-local rows 0 … n_c−2 predict chunk-local tokens 1 … n_c−1 and `CrossEntropyLoss` takes
/// their mean. A chunk's first token is never a target, and the last row's logits (which would
/// predict the next chunk's first token) are dropped. Each chunk mean is then weighted by
/// `chunk_tokens = input_ids.ne(pad_token_id).sum()` — the chunk's length n_c, as here, when no
/// token of the text equals the pad id (the reference sets pad = unk, which tokenized text does
/// not normally hold) — and the result is Σ n_c·mean_c / Σ n_c, summed over every sequence. Per
/// scored token that is the weight n_c / (n_c − 1).
public struct ReferenceChunks: Sendable, Equatable {
    /// Tokens in the sequence (n).
    public let length: Int
    /// Tokens per chunk (C); the last chunk holds the rest.
    public let chunk: Int

    /// The chunking of a sequence of `length` ≥ 2 tokens into chunks of `chunk` ≥ 1. Throws
    /// when a chunk would hold one token: the reference's loss is then a mean over no target
    /// (NaN), which makes its whole perplexity NaN.
    public init(length n: Int, chunk c: Int) throws {
        guard n >= 2 else { throw EvaluationError("a context length must be at least 2 tokens, got \(n)") }
        guard c >= 1 else { throw EvaluationError("the chunk size of the reference protocol must be at least 1, got \(c)") }
        guard c >= 2, n % c != 1 else {
            throw EvaluationError("chunks of \(c) leave a chunk of one token in a sequence of \(n): the reference scores no "
                                  + "target in it and its loss is NaN; choose a chunk size C ≥ 2 with n mod C ≠ 1")
        }
        length = n
        chunk = c
    }

    /// The chunks, as ranges of sequence indices.
    public var ranges: [Range<Int>] {
        stride(from: 0, to: length, by: chunk).map { $0..<min($0 + chunk, length) }
    }

    /// Sequence indices of the scored tokens, ascending: every index but each chunk's first.
    public var targets: [Int] {
        ranges.flatMap { $0.dropFirst() }
    }

    /// The weight of each of `targets`: n_c / (n_c − 1) for a token of a chunk of n_c tokens (1
    /// for every token when all chunks have the same length, up to a common factor).
    public var weights: [Double] {
        ranges.flatMap { r in Array(repeating: Double(r.count) / Double(r.count - 1), count: r.count - 1) }
    }

    /// The NLLs of `targets`, taken from `all` — the NLLs of sequence indices 1 ..< n in order.
    public func scored(from all: [Double]) -> [Double] {
        precondition(all.count == length - 1, "ReferenceChunks: \(all.count) NLLs for a sequence of \(length)")
        return targets.map { all[$0 - 1] }
    }
}
