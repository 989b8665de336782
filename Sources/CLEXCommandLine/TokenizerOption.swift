import CLEXFormats
import CLEXModel
import CLEXTokenizer
import Foundation

/// `--tokenizer bytes|FILE`: the byte tokenizer, a tokenizer.json, or the vocabulary of a
/// checkpoint (a GGUF) — for a checkpoint that carries none, or to replace its own.
enum TokenizerOption {
    static let option = OptionSpec("--tokenizer", value: "bytes|FILE")

    /// The tokenizer `choice` names.
    static func load(_ choice: String) throws -> any Tokenizer {
        if choice == "bytes" { return ByteTokenizer() }
        guard FileManager.default.fileExists(atPath: choice) else {
            throw InputError("--tokenizer: \(choice) does not exist (expected \"bytes\", a tokenizer.json or a GGUF)")
        }
        if choice.hasSuffix(".json") { return try BPETokenizer(tokenizerJSONAt: URL(fileURLWithPath: choice)) }
        if choice.hasSuffix(".gguf") {  // the vocabulary alone, not the whole model
            let metadata = try GGUFFile(path: choice).metadata
            guard metadata.contains("tokenizer.ggml.model") else { throw InputError("\(choice) carries no tokenizer") }
            return try ModelLoader.tokenizer(gguf: metadata)
        }
        guard let t = try ModelLoader.load(choice).tokenizer else { throw InputError("\(choice) carries no tokenizer") }
        return t
    }

    /// The tokenizer `--tokenizer` names, else the checkpoint's own.
    static func resolve(_ args: Arguments, loaded: LoadedModel, modelPath: String) throws -> any Tokenizer {
        if let choice = args.string(option.name) { return try load(choice) }
        guard let own = loaded.tokenizer else {
            throw InputError("\(modelPath) carries no tokenizer: give --tokenizer FILE (a tokenizer.json, or the GGUF it came from)")
        }
        return own
    }
}
