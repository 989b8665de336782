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
    /// CLEX reference `calculate_perplexity`: each sequence of exactly n tokens is fed through
    /// one session in chunks of `chunk` tokens with the KV cache; every token after the first is
    /// scored.
    case cached(chunk: Int)

    /// The command-line names, in the order the help lists them.
    public static let names = ["chunks", "llamacpp", "sliding", "cached"]

    /// The protocol called `name` (one of `names`), with its stride or chunk size.
    public init(name: String, stride: Int = 256, chunk: Int = 4096) throws {
        switch name {
        case "chunks": self = .chunks
        case "llamacpp", "llama.cpp": self = .llamaCpp
        case "sliding": self = .sliding(stride: stride)
        case "cached": self = .cached(chunk: chunk)
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
            return "full sequences in cached chunks of \(c) (CLEX reference): every token after the first scored"
        }
    }

    /// Stride of `sliding`, else nil.
    public var stride: Int? {
        if case .sliding(let s) = self { return s }
        return nil
    }

    /// Chunk size of `cached`, else nil.
    public var chunk: Int? {
        if case .cached(let c) = self { return c }
        return nil
    }

    /// Throws for a stride or chunk size below 1.
    public func validate() throws {
        switch self {
        case .sliding(let s) where s < 1:
            throw EvaluationError("the sliding-window stride must be at least 1, got \(s)")
        case .cached(let c) where c < 1:
            throw EvaluationError("the chunk size of the cached protocol must be at least 1, got \(c)")
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
        case .chunks, .cached:
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

    /// Tokens fed to the session per call for windows of `length`: C for `cached`, else at most
    /// `feedLimit` (exact either way: the session caches keys and splits at rotation changes;
    /// the bound keeps the [tokens, V] logits of one call small).
    public func feedSize(length n: Int, feedLimit: Int) -> Int {
        if case .cached(let c) = self { return min(c, n) }
        return min(max(feedLimit, 1), n)
    }
}
