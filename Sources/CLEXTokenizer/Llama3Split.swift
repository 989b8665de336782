/// The split of the LLaMA-3 and Qwen2 tokenizers (tokenizer.json `Split` with their regex,
/// `Isolated`; llama.cpp's `llama-bpe` and `qwen2` pre-tokenizers):
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,k}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// with k = 3 (LLaMA-3) or 1 (Qwen2, which writes `\p{N}`). Written as a scanner that takes
/// the alternatives in order at each position, as the regex engine does (leftmost, first
/// alternative that matches, each greedy).
public struct Llama3SplitPreTokenizer: PreTokenizer {
    /// Most digits one piece holds (`\p{N}{1,k}`).
    public let maximumDigits: Int

    /// - Parameter maximumDigits: 3 for LLaMA-3's pattern, 1 for Qwen2's.
    public init(maximumDigits: Int) {
        self.maximumDigits = max(1, maximumDigits)
    }

    /// LLaMA-3's pattern as its tokenizer.json spells it.
    public static let llama3Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// Qwen2's pattern as its tokenizer.json spells it.
    public static let qwen2Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// Each pattern with its digit group.
    static let patterns: [String: Int] = [llama3Pattern: 3, qwen2Pattern: 1]

    /// The tokenizer.json pattern of this split.
    var pattern: String { maximumDigits == 1 ? Self.qwen2Pattern : Self.llama3Pattern }

    /// Splits every piece of `text`.
    public func preTokenize(_ text: inout PreTokenizedText, isFirstSegment: Bool) {
        let k = maximumDigits
        text.refine { b, range, out in Self.split(b, range, maximumDigits: k, &out) }
    }

    /// Appends the matches within `range` (its end acts as the text's end) to `out`; every byte
    /// of `range` ends up in exactly one match.
    static func split(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, maximumDigits: Int, _ out: inout [Range<Int>]) {
        let end = range.upperBound
        @inline(__always) func scalar(_ i: Int) -> (value: UInt32, length: Int, cls: UnicodeClass) {
            let (v, n) = UTF8Step.decode(b, at: i, end: end)
            return (v, n, UnicodeClass.of(v))
        }
        @inline(__always) func isNewline(_ v: UInt32) -> Bool { v == 0x0A || v == 0x0D }
        /// End of the run from `j` of scalars satisfying `keep`.
        func run(from j: Int, _ keep: (UInt32, UnicodeClass) -> Bool) -> Int {
            var j = j
            while j < end {
                let s = scalar(j)
                if !keep(s.value, s.cls) { break }
                j += s.length
            }
            return j
        }
        var i = range.lowerBound
        while i < end {
            let c = scalar(i)
            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if c.value == 0x27, let stop = GPT2Split.contractionEnd(b, at: i, end: end, ignoringCase: true) {
                out.append(i..<stop)
                i = stop
                continue
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if c.cls == .letter {
                let j = run(from: i) { $1 == .letter }
                out.append(i..<j)
                i = j
                continue
            }
            if c.cls != .number, !isNewline(c.value), i + c.length < end, scalar(i + c.length).cls == .letter {
                let j = run(from: i + c.length) { $1 == .letter }
                out.append(i..<j)
                i = j
                continue
            }
            // \p{N}{1,k}
            if c.cls == .number {
                var j = i, count = 0
                while j < end, count < maximumDigits {
                    let s = scalar(j)
                    if s.cls != .number { break }
                    j += s.length
                    count += 1
                }
                out.append(i..<j)
                i = j
                continue
            }
            //  ?[^\s\p{L}\p{N}]+[\r\n]*
            var othersStart: Int? = c.cls == .other ? i : nil
            if c.value == 0x20, i + 1 < end, scalar(i + 1).cls == .other { othersStart = i + 1 }
            if let start = othersStart {
                let j = run(from: run(from: start) { $1 == .other }) { v, _ in isNewline(v) }
                out.append(i..<j)
                i = j
                continue
            }
            // c is whitespace. \s*[\r\n]+: through the last newline of the whitespace run.
            let runEnd = run(from: i) { $1 == .whitespace }
            var lastNewlineEnd: Int?
            var j = i
            while j < runEnd {
                let s = scalar(j)
                if isNewline(s.value) { lastNewlineEnd = j + s.length }
                j += s.length
            }
            if let stop = lastNewlineEnd {
                out.append(i..<stop)
                i = stop
                continue
            }
            // \s+(?!\S)|\s+, as in GPT-2's pattern.
            let stop = GPT2Split.whitespaceEnd(b, at: i, end: end)
            out.append(i..<stop)
            i = stop
        }
    }
}
