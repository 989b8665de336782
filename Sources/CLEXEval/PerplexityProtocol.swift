import CLEXModel

/// The perplexity protocols of ../shared/spec/evaluation.md: how a token stream is cut into
/// windows of n tokens and which tokens of each window are scored. Perplexity depends on the
/// protocol as much as on the model, so every result carries the protocol's `label`.
///
/// | case | windows | scored (window-local indices) |
/// |---|---|---|
/// | `chunks` | non-overlapping, n tokens | 1 … n−1 |
/// | `llamaCpp` | non-overlapping, first token replaced by BOS | n/2+1 … n−1 (llama.cpp: logits from position `first = n_ctx/2`) |
/// | `sliding(stride: S)` | start at 0, S, 2S, … | first window 1 … n−1, then the S tokens not scored before |
/// | `cached(chunk: C)` | non-overlapping, fed C tokens at a time through the KV cache | 1 … n−1 |
/// | `reference(chunk: C)` | as `cached`, each chunk with the rotation of its end | all but each chunk's first |
public enum PerplexityProtocol: Sendable, Equatable {
    /// Non-overlapping windows of n tokens; every token after a window's first is scored.
    case chunks
    /// llama.cpp `llama-perplexity`: non-overlapping windows of n tokens whose first token is
    /// replaced by BOS (when there is one); only the second half is scored: logits at positions
    /// n/2 … n−2 predict tokens n/2+1 … n−1, i.e. n − 1 − n/2 tokens a window.
    case llamaCpp
    /// Windows of n tokens advanced by `stride` S (1 ≤ S ≤ n); each scores only the tokens that
    /// no earlier window scored (the first window: all but its first token).
    case sliding(stride: Int)
    /// The CLEX reference's feeding with our semantics: each sequence of exactly n tokens is fed
    /// through one session in chunks of `chunk` tokens with the KV cache; every token after the
    /// first is scored, each with the rotation of its own context (the session's prefill
    /// rotation), so the result does not depend on `chunk`.
    case cached(chunk: Int)
    /// The CLEX reference's `calculate_perplexity` exactly (`ReferenceChunks`): `cached`'s
    /// feeding, but each chunk is read with one rotation, that of the context at the chunk's end
    /// (`PrefillRotation.single`), each chunk's first token is not scored, and the chunk means
    /// are averaged weighted by chunk length.
    case reference(chunk: Int)

    /// The command-line names, in the order the help lists them.
    public static let names = ["chunks", "llamacpp", "sliding", "cached", "reference"]

    /// The protocol called `name` (one of `names`), with its stride or chunk size.
    public init(name: String, stride: Int = 256, chunk: Int = 4096) throws {
        switch name {
        case "chunks": self = .chunks
        case "llamacpp", "llama.cpp": self = .llamaCpp
        case "sliding": self = .sliding(stride: stride)
        case "cached": self = .cached(chunk: chunk)
        case "reference": self = .reference(chunk: chunk)
        default:
            throw EvaluationError("unknown perplexity protocol \"\(name)\" (expected one of \(Self.names.joined(separator: ", ")))")
        }
        try validate()
    }

    /// The command-line name.
    public var name: String {
        switch self {
        case .chunks: return "chunks"
        case .llamaCpp: return "llamacpp"
        case .sliding: return "sliding"
        case .cached: return "cached"
        case .reference: return "reference"
        }
    }

    /// What the protocol does, in words, for reports and tables.
    public var label: String {
        switch self {
        case .chunks:
            return "chunks: non-overlapping windows of n, every token after the first scored"
        case .llamaCpp:
            return "chunks, second half (llama.cpp-style): windows of n, BOS first, tokens n/2+1 … n−1 scored"
        case .sliding(let s):
            return "sliding window, stride \(s): windows of n advanced by \(s), only tokens not scored before"
        case .cached(let c):
            return "full sequences in cached chunks of \(c): every token after the first scored, with the rotation of its context"
        case .reference(let c):
            return "CLEX reference calculate_perplexity, chunks of \(c): one rotation per chunk (its end), "
                + "each chunk's first token unscored, chunk means weighted by length"
        }
    }

    /// Stride of `sliding`, else nil.
    public var stride: Int? {
        if case .sliding(let s) = self { return s }
        return nil
    }

    /// Chunk size of `cached` and `reference`, else nil.
    public var chunk: Int? {
        switch self {
        case .cached(let c), .reference(let c): return c
        default: return nil
        }
    }

    /// The rotation the protocol reads its windows with, given the one asked for: `reference`
    /// always uses the reference's `single`; the others follow `requested`.
    public func prefillRotation(_ requested: PrefillRotation) -> PrefillRotation {
        if case .reference = self { return .single }
        return requested
    }

    /// Throws for a stride or chunk size below 1.
    public func validate() throws {
        switch self {
        case .sliding(let s) where s < 1:
            throw EvaluationError("the sliding-window stride must be at least 1, got \(s)")
        case .cached(let c) where c < 1, .reference(let c) where c < 1:
            throw EvaluationError("the chunk size of the \(name) protocol must be at least 1, got \(c)")
        default: break
        }
    }

    /// The windows over a stream of `tokenCount` tokens for context length `length`, at most
    /// `maxWindows` of them (from the start of the stream). Only whole windows are used; a tail
    /// shorter than a window is not scored.
    public func windows(tokenCount: Int, length n: Int, maxWindows: Int? = nil) throws -> [ScoredWindow] {
        guard n >= 2 else { throw EvaluationError("a context length must be at least 2 tokens, got \(n)") }
        try validate()
        let limit = maxWindows ?? Int.max
        var out: [ScoredWindow] = []
        switch self {
        case .chunks, .cached, .reference:
            var start = 0
            while start + n <= tokenCount && out.count < limit {
                out.append(ScoredWindow(start: start, length: n, firstTarget: 1, replaceFirstWithBOS: false))
                start += n
            }
        case .llamaCpp:
            var start = 0
            while start + n <= tokenCount && out.count < limit {
                out.append(ScoredWindow(start: start, length: n, firstTarget: n / 2 + 1, replaceFirstWithBOS: true))
                start += n
            }
        case .sliding(let s):
            guard s <= n else { throw EvaluationError("the sliding-window stride (\(s)) must not exceed the window (\(n))") }
            var start = 0
            var scoredEnd = 0
            while start + n <= tokenCount && out.count < limit {
                out.append(ScoredWindow(start: start, length: n, firstTarget: max(1, scoredEnd - start), replaceFirstWithBOS: false))
                scoredEnd = start + n
                start += s
            }
        }
        return out
    }

    /// Tokens fed to the session per call for windows of `length`: C for `cached` and
    /// `reference`; else the whole window under `single` prefill (one forward per window, as the
    /// reference's `model(input_ids)`; the session bounds the logits it holds), or at most
    /// `feedLimit` under `split` (exact: the session caches keys and splits at rotation changes;
    /// the bound keeps the [tokens, V] logits of one call small).
    public func feedSize(length n: Int, feedLimit: Int, prefill: PrefillRotation = .split) -> Int {
        if let c = chunk { return min(c, n) }
        return prefill == .single ? n : min(max(feedLimit, 1), n)
    }
}
