/// The tokens `encode(_:addSpecial: true)` puts around a single sequence (tokenizer.json
/// `post_processor`: `TemplateProcessing`'s `single` template, `RobertaProcessing`,
/// `BertProcessing`; GGUF `add_bos_token`/`add_eos_token`).
public struct PostProcessor: Sendable, Equatable {
    /// Ids put before the sequence (typically `[bos]`).
    public var prefix: [Int32]
    /// Ids put after the sequence (typically `[]` or `[eos]`).
    public var suffix: [Int32]

    /// - Parameters:
    ///   - prefix: ids put before the sequence.
    ///   - suffix: ids put after the sequence.
    public init(prefix: [Int32] = [], suffix: [Int32] = []) {
        self.prefix = prefix
        self.suffix = suffix
    }

    /// `prefix + ids + suffix`.
    public func apply(_ ids: [Int32]) -> [Int32] {
        prefix.isEmpty && suffix.isEmpty ? ids : prefix + ids + suffix
    }
}
