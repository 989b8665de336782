/// A text tokenizer: text to token ids and back.
///
/// Ids are `Int32`, the type GGUF and the model code use. Encoding never fails: characters the
/// vocabulary cannot spell become byte-fallback tokens, the unknown token, or (for a vocabulary
/// with neither) are dropped, as the reference implementations do. Decoding works on UTF-8 bytes
/// and turns bytes that are not valid UTF-8 into U+FFFD only when the text is finally built.
public protocol Tokenizer: Sendable {
    /// Number of ids (the largest id + 1), added tokens included.
    var vocabularySize: Int { get }
    /// Beginning-of-sequence id, if the vocabulary has one.
    var bosID: Int32? { get }
    /// End-of-sequence id, if the vocabulary has one.
    var eosID: Int32? { get }
    /// Unknown-token id, if the vocabulary has one.
    var unknownID: Int32? { get }
    /// Padding id, if the vocabulary has one.
    var paddingID: Int32? { get }
    /// The Jinja chat template shipped with the tokenizer (GGUF `tokenizer.chat_template`), if any.
    var chatTemplate: String? { get }

    /// Token ids of `text`.
    /// - Parameters:
    ///   - addSpecial: add the model's BOS/EOS tokens (GGUF `add_bos_token`/`add_eos_token`,
    ///     tokenizer.json `post_processor`).
    ///   - parseSpecial: recognise special tokens such as `<|im_start|>` written in `text`; when
    ///     false they are tokenized as plain text. Non-special added tokens (GGUF user-defined
    ///     tokens, tokenizer.json added tokens with `special: false`) are always recognised.
    func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32]

    /// The UTF-8 bytes `ids` decode to. Ids outside the vocabulary are skipped.
    /// - Parameter skipSpecial: leave out special tokens.
    func decodeBytes(_ ids: [Int32], skipSpecial: Bool) -> [UInt8]

    /// The vocabulary string of `id` (byte-level or `▁` form, as stored), or nil when out of range.
    func token(forID id: Int32) -> String?
    /// The id of a vocabulary string, or nil when absent.
    func id(forToken token: String) -> Int32?
    /// Whether `id` is a special (control) token.
    func isSpecial(_ id: Int32) -> Bool
}

extension Tokenizer {
    /// Token ids of `text`, recognising special tokens written in it.
    /// - Parameter addSpecial: add the model's BOS/EOS tokens.
    public func encode(_ text: String, addSpecial: Bool = true) -> [Int32] {
        encode(text, addSpecial: addSpecial, parseSpecial: true)
    }

    /// The text `ids` decode to; bytes that are not valid UTF-8 become U+FFFD.
    /// - Parameter skipSpecial: leave out special tokens.
    public func decode(_ ids: [Int32], skipSpecial: Bool = false) -> String {
        String(decoding: decodeBytes(ids, skipSpecial: skipSpecial), as: UTF8.self)
    }

    /// Starts an incremental decoder over this tokenizer (see `IncrementalDecoder`).
    public func decodeIncrementally(skipSpecial: Bool = false) -> IncrementalDecoder {
        IncrementalDecoder(tokenizer: self, skipSpecial: skipSpecial)
    }
}

/// Why a tokenizer could not be built. `description` names the field at fault and, for an
/// unsupported setting, what is supported.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// The data is not well formed (not JSON, a field of the wrong type, ids out of range, ...).
    case malformed(String)
    /// A field the tokenizer needs is absent.
    case missingField(String)
    /// A well-formed configuration this implementation does not support.
    case unsupported(String)

    /// The message, naming the field and (for `unsupported`) what is supported.
    public var description: String {
        switch self {
        case .malformed(let message), .missingField(let message), .unsupported(let message):
            return message
        }
    }
}
