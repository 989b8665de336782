import CLEXFormats
import Foundation

/// HF tokenizer files for `ByteTokenizer` (ids 0–255 are the bytes, 256 the end of text), so an
/// exported byte model loads with `AutoTokenizer` and the tokenizers library: a byte-level BPE
/// with no merges whose vocabulary is GPT-2's byte-to-character table (`bytes_to_unicode` in
/// openai/gpt-2 encoder.py: printable Latin-1 characters stand for themselves, the other bytes
/// for U+0100 onwards in byte order), regex splitting off, so every byte is its own token.
public enum ByteTokenizerFiles {
    /// The end-of-text token's text.
    static let endOfText = "<|endoftext|>"

    /// The character GPT-2's byte-level encoding uses for `byte`.
    static func character(_ byte: Int) -> Character {
        let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
        if printable { return Character(UnicodeScalar(UInt8(byte))) }
        let rank = (0..<byte).filter { !((33...126).contains($0) || (161...172).contains($0) || (174...255).contains($0)) }.count
        return Character(UnicodeScalar(256 + rank)!)
    }

    /// tokenizer.json (tokenizers' format).
    public static func tokenizerJSON() throws -> Data {
        var vocabulary: [String: Int] = [:]
        for b in 0..<256 { vocabulary[String(character(b))] = b }
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false]
        let o: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "normalizer": NSNull(), "post_processor": NSNull(),
            "added_tokens": [["id": 256, "content": endOfText, "single_word": false, "lstrip": false, "rstrip": false,
                              "normalized": false, "special": true]],
            "pre_tokenizer": byteLevel, "decoder": byteLevel,
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                      "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "vocab": vocabulary,
                      "merges": [String]()] as [String: Any],
        ]
        return try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys])
    }

    /// tokenizer_config.json: the fast tokenizer class and the end-of-text token.
    public static func tokenizerConfigJSON() throws -> Data {
        let o: [String: Any] = ["tokenizer_class": "PreTrainedTokenizerFast", "eos_token": endOfText, "clean_up_tokenization_spaces": false]
        return try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys])
    }

    /// Writes both into `directory`, each atomically.
    public static func write(into directory: String) throws {
        try AtomicFileWriter.write(try tokenizerJSON(), to: (directory as NSString).appendingPathComponent("tokenizer.json"))
        try AtomicFileWriter.write(try tokenizerConfigJSON(), to: (directory as NSString).appendingPathComponent("tokenizer_config.json"))
    }
}
