import CLEXFormats
import Foundation

/// What an HF directory needs so that transformers loads a CLEX checkpoint with the reference's
/// classes (github.com/DAMO-NLP-SG/CLEX, package `CLEX`): `auto_map` in config.json naming two
/// small modules written beside the weights that re-export the reference's config and model
/// classes. Without it, `AutoConfig`/`AutoTokenizer` build transformers' own LlamaConfig, whose
/// 4.36 validation refuses CLEX's `rope_scaling`. The reference package must be importable
/// (installed, or its checkout on PYTHONPATH) wherever the directory is loaded.
enum ReferenceClasses {
    /// The reference's config and causal-LM class names for `architecture` (CLEX/__init__.py),
    /// or nil for a family the reference has no CLEX model for.
    static func names(_ architecture: ModelArchitecture) -> (config: String, model: String)? {
        switch architecture {
        case .llama: ("CLEXLlamaConfig", "LlamaForCausalLM")
        case .phi2: ("CLEXPhiConfig", "PhiForCausalLM")
        case .mixtral: ("CLEXMixtralConfig", "MixtralForCausalLM")
        case .mistral, .qwen2, .gptNeoX: nil
        }
    }

    static let configModule = "configuration_clex"
    static let modelModule = "modeling_clex"

    /// The config.json `auto_map` member for `architecture` (nil: none).
    static func autoMap(_ architecture: ModelArchitecture) -> [String: String]? {
        guard let n = names(architecture) else { return nil }
        return ["AutoConfig": "\(configModule).\(n.config)", "AutoModelForCausalLM": "\(modelModule).\(n.model)"]
    }

    /// Writes the two re-exporting modules into `directory`.
    static func writeModules(_ architecture: ModelArchitecture, into directory: String) throws {
        guard let n = names(architecture) else { return }
        let header = "# Written by clex export: the CLEX reference's class, for transformers' auto_map.\n"
        for (module, name) in [(configModule, n.config), (modelModule, n.model)] {
            try AtomicFileWriter.write(Data((header + "from CLEX import \(name)\n").utf8),
                                       to: (directory as NSString).appendingPathComponent(module + ".py"))
        }
    }
}
