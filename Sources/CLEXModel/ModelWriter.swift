import CLEXFormats
import CLEXTensor
import Foundation

/// Saves models as HF checkpoints: `model.safetensors` (Float32, the family's HF names, q/k rows
/// in the rotate_half order HF expects; GPT-NeoX's q/k/v fused per head, Mixtral's experts one
/// tensor each, as transformers stores them) and `config.json`, each written atomically.
public enum ModelWriter {
    /// Writes `model` into `directory` (created if needed). `extraTensors` (e.g. CLEX's ODE
    /// weights) and `extraConfig` members are added as given.
    public static func saveHF(_ model: LlamaModel, to directory: String,
                              extraTensors: [(String, Tensor)] = [], extraConfig: [String: Any] = [:]) throws {
        // The writer holds every tensor in Float32 until the file is written.
        try MemoryBudget.require(4 * model.configuration.parameterCount,
                                 for: "writing \(model.configuration.parameterCount) parameters as Float32")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let hf = model.withRotaryLayout(.rotateHalf)
        let c = hf.configuration
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        for (name, tensor) in huggingFaceTensors(hf) { writer.addTensor(name, tensor) }
        for (name, tensor) in extraTensors { writer.addTensor(name, tensor) }
        try writer.write(to: (directory as NSString).appendingPathComponent("model.safetensors"))
        let config = try c.hfConfigJSON(extra: extraConfig)
        try AtomicFileWriter.write(config, to: (directory as NSString).appendingPathComponent("config.json"))
    }

    /// The HF tensors of `model` (rotate_half layout), in checkpoint order: a fused tensor once,
    /// when its last part is reached; a stacked expert matrix as one tensor per expert.
    static func huggingFaceTensors(_ model: LlamaModel) -> [(String, Tensor)] {
        let c = model.configuration
        var out: [(String, Tensor)] = []
        var fused: [String: Tensor] = [:]
        for slot in CheckpointNames.slots(for: c) {
            let t = model.parameters[slot]!.tensor
            if let names = CheckpointNames.expertNames(slot, .huggingFace, c) {
                let rows = t.shape[0] / c.expertCount
                for (e, name) in names.enumerated() { out.append((name, t.slice(rows: (e * rows)..<((e + 1) * rows)).copy())) }
            } else if let part = CheckpointNames.fusedPart(slot, .huggingFace, c.architecture) {
                let name = CheckpointNames.name(slot, .huggingFace, c.architecture)
                let columns = t.rank == 2 ? t.shape[1] : 1
                let whole = fused[name] ?? Tensor(zeros: t.rank == 2 ? [t.shape[0] * part.count, columns] : [t.shape[0] * part.count])
                for (i, row) in part.rows(heads: c.keyValueHeadCount, headRows: c.headDimension).enumerated() {
                    (whole.pointer + row * columns).update(from: t.pointer + i * columns, count: columns)
                }
                fused[name] = whole
                if part.index == part.count - 1 { out.append((name, whole)) }
            } else {
                out.append((CheckpointNames.name(slot, .huggingFace, c.architecture), t))
            }
        }
        return out
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
