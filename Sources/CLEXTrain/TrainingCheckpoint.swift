import CLEXFormats
import CLEXModel
import CLEXTensor
import Foundation

/// Training checkpoints: `<output>/checkpoint-NNNNNN/` holding the model as an HF checkpoint
/// (`model.safetensors` + `config.json`, with the positional method's learned tensors and
/// `rope_scaling`), `optimizer.safetensors` (AdamW moments) and `trainer_state.json` (step, data
/// cursor, RNG state, options). Each is built in a temporary directory and renamed into place,
/// then `<output>/latest` names it (also replaced atomically); older checkpoints beyond
/// `keepCheckpoints` are removed, and so are the half-written temporary directories of runs
/// killed while saving. A run killed at any moment leaves the previous checkpoint intact.
public enum TrainingCheckpoint {
    struct State: Codable {
        var step: Int
        var cursor: ChunkBatcher.Cursor
        var generator: [UInt64]
        var options: TrainingOptions
        var signature: [String: String]
        var positional: String
        var optimizerStep: Int
        /// AdamW's updates per parameter (absent in checkpoints written before they were kept).
        var optimizerUpdateCounts: [String: Int]?
    }

    /// The directory of the checkpoint after `step` under `output`.
    static func directory(step: Int, in output: String) -> String {
        (output as NSString).appendingPathComponent(String(format: "checkpoint-%06d", step))
    }

    /// Whether `name` in `output` is a checkpoint this program wrote: `checkpoint-` and six digits,
    /// holding `trainer_state.json`. Only those are ever rotated away; anything else stays.
    static func isCheckpoint(_ name: String, in output: String) -> Bool {
        let digits = name.dropFirst("checkpoint-".count)
        guard name.hasPrefix("checkpoint-"), digits.count == 6, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else {
            return false
        }
        let state = ((output as NSString).appendingPathComponent(name) as NSString).appendingPathComponent("trainer_state.json")
        return FileManager.default.fileExists(atPath: state)
    }

    /// Whether `name` is the temporary directory of a checkpoint a killed run left half-written:
    /// `.checkpoint-NNNNNN.tmp-PID`.
    static func isDebris(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].isEmpty, parts[2].hasPrefix("tmp-"), Int(parts[2].dropFirst(4)) != nil else { return false }
        let digits = parts[1].dropFirst("checkpoint-".count)
        return parts[1].hasPrefix("checkpoint-") && digits.count == 6 && digits.allSatisfy(\.isNumber)
    }

    /// Writes a checkpoint of `trainer` under `output`; returns its directory.
    static func save(_ trainer: Trainer, to output: String) throws -> String {
        let fm = FileManager.default
        try fm.createDirectory(atPath: output, withIntermediateDirectories: true)
        let final = directory(step: trainer.step, in: output)
        let name = (final as NSString).lastPathComponent
        let temporary = (output as NSString).appendingPathComponent(".\(name).tmp-\(getpid())")
        try? fm.removeItem(atPath: temporary)
        guard TemporaryFiles.register(temporary) else { throw TrainingError.stopping }
        defer { TemporaryFiles.unregister(temporary) }
        try ModelWriter.saveHF(trainer.model, positional: trainer.positional, to: temporary)
        var moments = SafetensorsWriter(metadata: ["step": "\(trainer.optimizer.step)"])
        for (param, state) in trainer.optimizer.moments {
            moments.addTensor("exp_avg." + param, state.m)
            moments.addTensor("exp_avg_sq." + param, state.v)
        }
        try moments.write(to: (temporary as NSString).appendingPathComponent("optimizer.safetensors"))
        let state = State(step: trainer.step, cursor: trainer.batcher.cursor, generator: trainer.generator.state,
                          options: trainer.options, signature: trainer.options.resumeSignature,
                          positional: trainer.positional.configuration.scheme.typeName,
                          optimizerStep: trainer.optimizer.step, optimizerUpdateCounts: trainer.optimizer.updateCounts)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFileWriter.write(try encoder.encode(state), to: (temporary as NSString).appendingPathComponent("trainer_state.json"))
        if fm.fileExists(atPath: final) { try fm.removeItem(atPath: final) }
        try fm.moveItem(atPath: temporary, toPath: final)
        try AtomicFileWriter.write(Data(name.utf8), to: (output as NSString).appendingPathComponent("latest"))
        let entries = (try? fm.contentsOfDirectory(atPath: output)) ?? []
        let all = entries.filter { isCheckpoint($0, in: output) }.sorted()
        for old in all.dropLast(trainer.options.keepCheckpoints) where old != name {
            try? fm.removeItem(atPath: (output as NSString).appendingPathComponent(old))
        }
        // Half-written checkpoints of runs killed while saving (this one's was renamed above).
        for debris in entries where isDebris(debris) {
            try? fm.removeItem(atPath: (output as NSString).appendingPathComponent(debris))
        }
        return final
    }

    /// A trainer continuing the run whose checkpoints are in `output`, exactly where its latest
    /// checkpoint stopped. Refuses (naming what differs) a checkpoint that is missing, corrupt,
    /// or from a run with other options, another architecture or another positional method.
    public static func resume(output: String, model: LlamaModel, positional: any PositionalMethod,
                              training: [Int32], validation: [Int32], options: TrainingOptions) throws -> Trainer {
        let latestPath = (output as NSString).appendingPathComponent("latest")
        guard let latest = FileManager.default.contents(atPath: latestPath).flatMap({ String(data: $0, encoding: .utf8) }) else {
            throw TrainingError.resumeRefused("\(latestPath) is missing: \(output) holds no finished checkpoint")
        }
        let directory = (output as NSString).appendingPathComponent(latest.trimmingCharacters(in: .whitespacesAndNewlines))
        let statePath = (directory as NSString).appendingPathComponent("trainer_state.json")
        let state: State
        do {
            state = try JSONDecoder().decode(State.self, from: Data(contentsOf: URL(fileURLWithPath: statePath)))
        } catch {
            throw TrainingError.resumeRefused("\(statePath) is missing or corrupt (\(error))")
        }
        // Checkpoints written before recipes existed ran the standard one.
        let saved = state.signature.merging(["recipe": TrainingRecipe.standard.rawValue]) { kept, _ in kept }
        let current = options.resumeSignature
        for key in Set(saved.keys).union(current.keys).sorted() where saved[key] != current[key] {
            throw TrainingError.resumeRefused("option \(key) is \(current[key] ?? "absent") now but \(saved[key] ?? "absent") in \(directory)")
        }
        let method = positional.configuration.scheme.typeName
        guard state.positional == method else {
            throw TrainingError.resumeRefused("positional method is \(method) now but \(state.positional) in \(directory)")
        }
        guard let generator = SeededGenerator(state: state.generator) else {
            throw TrainingError.resumeRefused("\(statePath): the RNG state is invalid")
        }
        let loaded: LoadedModel
        do { loaded = try ModelLoader.load(directory) } catch {
            throw TrainingError.resumeRefused("the model in \(directory) cannot be loaded: \(error)")
        }
        var expected = model.configuration
        expected.rotaryLayout = .rotateHalf
        var found = loaded.model.configuration
        found.ropeScalingJSON = expected.ropeScalingJSON
        guard found == expected else {
            throw TrainingError.resumeRefused("the checkpoint's architecture (\(describe(found))) differs from the model's (\(describe(expected)))")
        }
        for name in positional.learnedParameters.keys.sorted() {
            do { try positional.setLearnedParameter(name, to: try loaded.checkpoint.tensor(name)) } catch {
                throw TrainingError.resumeRefused("\(directory): positional parameter '\(name)': \(error)")
            }
        }
        var optimizer = AdamW(beta1: options.beta1, beta2: options.beta2, weightDecay: options.weightDecay)
        let optimizerPath = (directory as NSString).appendingPathComponent("optimizer.safetensors")
        do {
            let file = try SafetensorsFile(path: optimizerPath)
            var moments: [String: (m: Tensor, v: Tensor)] = [:]
            for name in file.tensorNames where name.hasPrefix("exp_avg.") {
                let param = String(name.dropFirst("exp_avg.".count))
                moments[param] = (try file.tensor(name), try file.tensor("exp_avg_sq." + param))
            }
            optimizer.restore(step: state.optimizerStep, moments: moments, updateCounts: state.optimizerUpdateCounts)
        } catch {
            throw TrainingError.resumeRefused("\(optimizerPath) is missing or corrupt: \(error)")
        }
        let trainer = try Trainer(model: loaded.model, positional: positional, training: training,
                                  validation: validation, options: options, output: output)
        trainer.restore(step: state.step, cursor: state.cursor, generator: generator, optimizer: optimizer,
                        parameters: loaded.model.parameters, checkpoint: directory)
        return trainer
    }

    static func describe(_ c: LlamaConfiguration) -> String {
        "vocab \(c.vocabularySize), width \(c.hiddenSize), MLP \(c.intermediateSize), \(c.layerCount) layers, "
            + "\(c.headCount)/\(c.keyValueHeadCount) heads of \(c.headDimension)"
    }
}
