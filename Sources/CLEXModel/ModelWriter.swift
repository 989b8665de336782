import CLEXFormats
import CLEXTensor
import Foundation

/// Saves models as HF checkpoints: `model.safetensors` (Float32, HF names, q/k rows in the
/// rotate_half order HF expects) and `config.json`, each written atomically.
public enum ModelWriter {
    /// Writes `model` into `directory` (created if needed). `extraTensors` (e.g. CLEX's ODE
    /// weights) and `extraConfig` members are added as given.
    public static func saveHF(_ model: LlamaModel, to directory: String,
                              extraTensors: [(String, Tensor)] = [], extraConfig: [String: Any] = [:]) throws {
        // The writer holds every tensor in Float32 until the file is written.
        try MemoryBudget.require(4 * model.configuration.parameterCount,
                                 for: "writing \(model.configuration.parameterCount) parameters as Float32")
        guard model.configuration.architecture == .llama else {
            throw ModelLoadError("writing a \(model.configuration.architecture.modelType) checkpoint is not supported yet (llama only)")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let hf = model.withRotaryLayout(.rotateHalf)
        let c = hf.configuration
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        for slot in CheckpointNames.slots(layers: c.layerCount, tied: c.tieWordEmbeddings) {
            writer.addTensor(CheckpointNames.name(slot, .huggingFace), hf.parameters[slot]!.tensor)
        }
        for (name, tensor) in extraTensors { writer.addTensor(name, tensor) }
        try writer.write(to: (directory as NSString).appendingPathComponent("model.safetensors"))
        let config = try c.hfConfigJSON(extra: extraConfig)
        try AtomicFileWriter.write(config, to: (directory as NSString).appendingPathComponent("config.json"))
    }
}

extension ModelWriter {
    /// Writes `model` with its positional method as an HF checkpoint the PyTorch CLEX code and HF
    /// tools load: `config.json` carries the method's `rope_scaling` (and `log_scale`), and a CLEX
    /// method's learned tensors (`model.clex_layer.*`) join the weights.
    ///
    /// A CLEX checkpoint also gets `auto_map` and the two modules it names
    /// (`ReferenceClasses`), so `AutoModelForCausalLM.from_pretrained(dir, trust_remote_code=True)`
    /// builds the reference's model where the reference package is importable.
    public static func saveHF(_ model: LlamaModel, positional: any PositionalMethod, to directory: String) throws {
        let learned = positional.learnedParameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        var config = try positional.configuration.hfConfigMembers()
        let clex: Bool
        if case .clex = positional.configuration.scheme { clex = true } else { clex = false }
        let autoMap = clex ? ReferenceClasses.autoMap(model.configuration.architecture) : nil
        if let autoMap { config["auto_map"] = autoMap }
        try saveHF(model, to: directory, extraTensors: learned, extraConfig: config)
        if autoMap != nil { try ReferenceClasses.writeModules(model.configuration.architecture, into: directory) }
    }
}
