import CLEXFormats
import CLEXModel
import CLEXTokenizer
import Foundation

/// `clex export`: any checkpoint the loader reads (GGUF, safetensors, llama2.c) written as an HF
/// directory — the way to the PyTorch CLEX reference and HF tools (multi-GPU training, other
/// runtimes); their checkpoints load back in `clex` as they are.
enum ExportCommand {
    static let spec = CommandSpec("export", usage: "usage: clex export --model FILE --out DIR [positional options]",
                                  options: [OptionSpec("--model", ["-m"], value: "FILE"), OptionSpec("--out", ["-o"], value: "DIR")]
                                      + CommandSpec.positionalOptions)

    static let help = """
    \(spec.usage)

      --model FILE        a GGUF, safetensors (file, directory or sharded index) or llama2.c checkpoint
      --out DIR           the HF directory to write: model.safetensors (Float32, HF names and
                          rotate_half q/k rows) and config.json (with rope_scaling; for CLEX also
                          auto_map to the reference's classes, re-exported by configuration_clex.py
                          and modeling_clex.py); tokenizer files beside a safetensors source are
                          copied; a byte tokenizer is marked and written as tokenizer.json
      positional options  --rope-scaling clex --clex-max-factor 16 …, as for clex train: export the
                          model with another method (CLEX: its ODE weights at initialisation unless
                          the source holds model.clex_layer.*)

    A GGUF's byte-level BPE vocabulary (tokenizer.ggml.model gpt2) is written as tokenizer.json and
    tokenizer_config.json; SentencePiece vocabularies are not converted: use the original model's
    tokenizer files.
    The reference's train/train_lm.py picks its classes from the path: put "llama", "phi" or
    "mixtral" in the --out directory's name (e.g. out/llama-clex).
    Every file is written to a temporary name and renamed into place; an interrupted export
    (Ctrl-C) removes its temporary files.
    """

    static let command = Command(spec: spec, help: help, run: run)

    static func run(_ args: Arguments) throws -> Int32 {
        let path = try args.required("--model")
        let out = try args.required("--out")
        guard FileManager.default.fileExists(atPath: path) else { throw InputError("--model: \(path) does not exist") }
        try OutputLocation.requireWritable(directory: out, flag: "--out")
        let loaded = try ModelLoader.load(path)
        let (method, _) = try loaded.positionalMethod(overrides: args.positionalOverrides())
        try ModelWriter.saveHF(loaded.model, positional: method, to: out)
        let copied = try copyTokenizerFiles(from: path, to: out)
        var notes = copied.isEmpty ? [] : ["copied \(copied.joined(separator: ", "))"]
        if loaded.tokenizer is ByteTokenizer {
            try ByteTokenizerMarker.write(into: out)
            if !copied.contains("tokenizer.json") { try ByteTokenizerFiles.write(into: out) }
        } else if !copied.contains("tokenizer.json"), let gguf = loaded.checkpoint as? GGUFFile,
                  gguf.metadata.contains("tokenizer.ggml.model") {
            notes.append(try writeTokenizerFiles(ModelLoader.ggufTokenizerMetadata(gguf.metadata), to: out))
        }
        let c = loaded.model.configuration
        print("wrote \(out): \(c.parameterCount) parameters, \(c.layerCount) layers, rope_scaling \(method.configuration.scheme.typeName)"
              + notes.map { "; " + $0 }.joined())
        return 0
    }

    /// tokenizer.json and tokenizer_config.json from a GGUF's vocabulary (byte-level BPE); a
    /// vocabulary that is not converted (SentencePiece) is said, not an error: the weights are
    /// exported all the same. Returns what was done, for the summary line.
    static func writeTokenizerFiles(_ metadata: GGUFTokenizerMetadata, to directory: String) throws -> String {
        let files: (Data, Data)
        do {
            files = (try metadata.tokenizerJSON(), try metadata.tokenizerConfigJSON())
        } catch let error as TokenizerError {
            return "no tokenizer.json (\(error)): copy the original model's tokenizer files beside it"
        }
        try AtomicFileWriter.write(files.0, to: (directory as NSString).appendingPathComponent("tokenizer.json"))
        try AtomicFileWriter.write(files.1, to: (directory as NSString).appendingPathComponent("tokenizer_config.json"))
        return "tokenizer.json and tokenizer_config.json from the GGUF vocabulary"
    }

    /// Copies the HF tokenizer files found beside a safetensors source; returns their names.
    static func copyTokenizerFiles(from source: String, to directory: String) throws -> [String] {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: source, isDirectory: &isDirectory) else { return [] }
        let folder = isDirectory.boolValue ? source : FilePath.folder(of: source)
        var copied: [String] = []
        for name in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"] {
            let from = (folder as NSString).appendingPathComponent(name)
            let to = (directory as NSString).appendingPathComponent(name)
            guard fm.fileExists(atPath: from), from != to else { continue }
            try AtomicFileWriter.write(try Data(contentsOf: URL(fileURLWithPath: from)), to: to)
            copied.append(name)
        }
        return copied
    }
}
