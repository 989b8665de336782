import CLEXModel
import CLEXTokenizer
import CLEXTrain
import Foundation

/// `clex train`: pretrain a preset model or fine-tune a checkpoint, with any positional method.
enum TrainCommand {
    static let spec = CommandSpec("train", usage: "usage: clex train --data PATH[,PATH…] --out DIR (--preset tiny|small | --model FILE) [options]",
                                  options: [
                                      OptionSpec("--data", value: "PATHS"), OptionSpec("--preset", value: "NAME"),
                                      OptionSpec("--model", ["-m"], value: "FILE"), TokenizerOption.option,
                                      OptionSpec("--context", ["-c", "--ctx-size"], value: "L"),
                                      OptionSpec("--validation-fraction", value: "F"), OptionSpec("--cache", value: "DIR"),
                                      OptionSpec("--out", ["-o"], value: "DIR"), OptionSpec("--resume", value: nil),
                                      OptionSpec("--seq-len", value: "N"), OptionSpec("--batch", ["-b"], value: "B"),
                                      OptionSpec("--accum", value: "K"), OptionSpec("--steps", value: "S"),
                                      OptionSpec("--lr", value: "X"), OptionSpec("--warmup", value: "S"),
                                      OptionSpec("--schedule", value: "cosine|constant"), OptionSpec("--min-lr-fraction", value: "F"),
                                      OptionSpec("--positional-lr", value: "X"), OptionSpec("--weight-decay", value: "X"),
                                      OptionSpec("--beta1", value: "X"), OptionSpec("--beta2", value: "X"),
                                      OptionSpec("--clip", value: "X"), OptionSpec("--seed", ["-s"], value: "N"),
                                      OptionSpec("--validate-every", value: "S"), OptionSpec("--validation-batches", value: "N"),
                                      OptionSpec("--checkpoint-every", value: "S"), OptionSpec("--keep", value: "N"),
                                      OptionSpec("--freeze", value: "PARTS"), OptionSpec("--recipe", value: "standard|reference"),
                                      CommandSpec.threadsOption,
                                  ] + CommandSpec.positionalOptions)

    static let help = """
    \(spec.usage)

    model and data
      --data PATHS            text files, directories (*.txt, *.md, *.jsonl) or JSONL files with a
                              "text" field, comma-separated; documents are joined with EOS (with
                              --recipe reference: back to back)
      --preset NAME           pretrain from scratch: tiny (≈1.6 M parameters) or small (≈12.7 M)
      --model FILE            fine-tune a checkpoint (GGUF dequantised to Float32, safetensors, llama2.c)
      --tokenizer bytes|FILE  tokenizer for --preset: "bytes" (default; 257 ids) or a tokenizer.json
                              or GGUF file whose vocabulary to use
      --context L             the model's window L (max_position_embeddings): a preset's (default 256), or
                              with --model a new one for fine-tuning (CLEX's L: t = length / L)
      --validation-fraction F share of documents held out for validation (default 0.05)
      --cache DIR             tokenized-corpus cache (default: .token-cache inside --out)
    run
      --recipe R              standard (default) or reference: the PyTorch CLEX reference's training
                              exactly (HF Trainer: one global clip and learning rate, AdamW β2 0.999 and
                              no decay, cosine to 0 with ⌈3 %⌉ warm-up where update k takes rate k − 1,
                              exact N-token chunks without EOS, CLEX's last position ⌊N·t/s⌋ − 1, lr
                              2e-5); the defaults below are the standard recipe's, flags override both
      --out DIR               checkpoints (checkpoint-NNNNNN/), log.jsonl, clex-run.json; must be new,
                              empty or a clex run (a folder holding other files is refused; only files
                              the run wrote are ever replaced or removed)
      --resume                continue the run in --out exactly where its latest checkpoint stopped
      --seq-len N             tokens per sequence (default: the model's window)
      --batch B               sequences per micro-batch (default 8)
      --accum K               micro-batches per step (default 1)
      --steps S               optimiser steps (default 1000)
      --lr X                  peak learning rate (default 1e-3)
      --warmup S              warm-up steps (default 50)
      --schedule cosine|constant  (default cosine)
      --min-lr-fraction F     cosine floor as a fraction of --lr (default 0.1)
      --positional-lr X       learning rate of CLEX's ODE weights (default: --lr)
      --weight-decay X        AdamW decoupled decay (default 0.1; norms are exempt)
      --beta1 X --beta2 X     AdamW moments (default 0.9, 0.95)
      --clip X                global gradient-norm clip (default 1; 0 = off)
      --seed N                seed of data order, position draws and initialisation (default 1)
      --validate-every S      validation loss every S steps (default 100; 0 = never)
      --validation-batches N  batches per validation (default 4)
      --checkpoint-every S    checkpoint every S steps (default 100, and at the end)
      --keep N                checkpoints kept (default 2)
      --freeze PARTS          comma-separated: embeddings, attention, mlp, norms, positional
      -t, --threads N         threads for the engine and OpenBLAS, 1 … 1024 (default: every core)
    positional method (llama.cpp's vocabulary, plus CLEX)
      --rope-scaling none|linear|ntk|dynamic|yarn|longrope|llama3|alibi|clex
      --rope-scale S, --rope-freq-base B, --yarn-orig-ctx N, --yarn-beta-fast X, --yarn-beta-slow X, …
      --clex-max-factor T, --clex-param-factor λ, --clex-act tanh|silu, --clex-dt h, --clex-log-scale
    """

    static let command = Command(spec: spec, help: help, run: run)

    static func run(_ args: Arguments) throws -> Int32 {
        let presetName = args.string("--preset")
        let preset = presetName.flatMap(ModelPreset.init(rawValue:))
        if let p = presetName, preset == nil { throw UsageError("--preset expects tiny or small, got '\(p)'", command: spec.name) }
        let modelPath = args.string("--model")
        guard (preset == nil) != (modelPath == nil) else {
            throw UsageError("train needs exactly one of --preset NAME or --model FILE", command: spec.name)
        }
        let dataList = try args.required("--data")
        let out = try args.required("--out")
        let resume = args.flag("--resume")
        let context = try args.int("--context", in: 2...ModelRunOptions.tokenLimit)
        let seed = try args.seed("--seed", 1)
        let fraction = try args.double("--validation-fraction", 0.05, in: 0...0.9)
        let cache = args.string("--cache") ?? (out as NSString).appendingPathComponent(".token-cache")
        try RunFolder.check(out, resume: resume)
        try OutputLocation.requireWritable(directory: out, flag: "--out")
        try OutputLocation.requireWritable(directory: cache, flag: "--cache")

        var tokenizer: any Tokenizer
        var model: LlamaModel
        var positionalBase: PositionalConfiguration
        var loadedCheckpoint: LoadedModel?
        if let modelPath {
            guard FileManager.default.fileExists(atPath: modelPath) else { throw InputError("--model: \(modelPath) does not exist") }
            let loaded = try ModelLoader.load(modelPath)
            tokenizer = try TokenizerOption.resolve(args, loaded: loaded, modelPath: modelPath)
            model = loaded.model
            positionalBase = loaded.positional
            if let context {
                // Train short: the window L the positional method counts from (CLEX's L, the original
                // length of PI/YaRN/dynamic NTK), saved as max_position_embeddings.
                model.configuration.maxPositionEmbeddings = context
                positionalBase.contextLength = context
            }
            loadedCheckpoint = loaded
        } else {
            tokenizer = try TokenizerOption.load(args.string(TokenizerOption.option.name) ?? "bytes")
            let config = preset!.configuration(vocabularySize: tokenizer.vocabularySize, context: context ?? 256,
                                               eosTokenID: tokenizer.eosID.map(Int.init))
            model = LlamaModel(configuration: config, parameters: LlamaParameters(randomFor: config, seed: seed))
            positionalBase = PositionalConfiguration(model: config)
        }
        let (positionalConfig, _) = try positionalBase.applyingCommandLine(args.positionalOverrides())
        let steps = 1...100_000_000
        let recipe = TrainingRecipe(rawValue: try args.choice("--recipe", TrainingRecipe.standard.rawValue,
                                                              among: TrainingRecipe.allCases.map(\.rawValue)))!
        var o = TrainingOptions(recipe: recipe, steps: try args.int("--steps", 1000, in: steps))
        o.sequenceLength = try args.int("--seq-len", model.configuration.maxPositionEmbeddings, in: 2...ModelRunOptions.tokenLimit)
        o.batchSize = try args.int("--batch", o.batchSize, in: 1...65536)
        o.accumulation = try args.int("--accum", o.accumulation, in: 1...65536)
        o.learningRate = try args.float("--lr", o.learningRate, in: 0...10)
        o.warmupSteps = try args.int("--warmup", o.warmupSteps, in: 0...steps.upperBound)
        o.schedule = LearningRateSchedule.Shape(rawValue: try args.choice("--schedule", o.schedule.rawValue, among: ["cosine", "constant"]))!
        o.minimumLearningRateFraction = try args.float("--min-lr-fraction", o.minimumLearningRateFraction, in: 0...1)
        if args.given("--positional-lr") { o.positionalLearningRate = try args.float("--positional-lr", 0, in: 0...10) }
        o.weightDecay = try args.float("--weight-decay", o.weightDecay, in: 0...10)
        o.beta1 = try args.float("--beta1", o.beta1, in: 0...0.999999)
        o.beta2 = try args.float("--beta2", o.beta2, in: 0...0.999999)
        o.clipNorm = try args.float("--clip", o.clipNorm, in: 0...1e6)
        o.seed = seed
        o.validateEvery = try args.int("--validate-every", o.validateEvery, in: 0...steps.upperBound)
        o.validationBatches = try args.int("--validation-batches", o.validationBatches, in: 1...100_000)
        o.checkpointEvery = try args.int("--checkpoint-every", o.checkpointEvery, in: 1...steps.upperBound)
        o.keepCheckpoints = try args.int("--keep", o.keepCheckpoints, in: 1...1_000_000)
        if let f = args.string("--freeze") { o.frozen = f.split(separator: ",").map(String.init) }
        try o.validate()

        try RunFolder.claim(out)
        let corpus = try TokenCorpus.load(paths: dataList.split(separator: ",").map(String.init), tokenizer: tokenizer,
                                          separator: recipe.separatesDocuments ? tokenizer.eosID : nil, validationFraction: fraction, seed: o.seed,
                                          cacheDirectory: cache)
        let method = try positionalConfig.makeMethod(seed: o.seed)
        if let loaded = loadedCheckpoint, case .clex = positionalConfig.scheme {
            for name in CLEXCheckpointNames.all where loaded.checkpoint.contains(name) {
                try method.setLearnedParameter(name, to: try loaded.checkpoint.tensor(name))
            }
        }
        let trainer = resume
            ? try TrainingCheckpoint.resume(output: out, model: model, positional: method, training: corpus.trainingTokens,
                                            validation: corpus.validationTokens, options: o)
            : try Trainer(model: model, positional: method, training: corpus.trainingTokens,
                          validation: corpus.validationTokens, options: o, output: out)
        if tokenizer is ByteTokenizer { try ByteTokenizerMarker.write(into: out) }
        let c = model.configuration
        emit("training \(c.parameterCount) parameters (\(c.layerCount) layers, width \(c.hiddenSize)), "
              + "\(positionalConfig.scheme.typeName) positions, \(corpus.trainingTokens.count) training / "
              + "\(corpus.validationTokens.count) validation tokens, \(trainer.tokensPerStep) tokens per step"
              + (resume ? ", resuming at step \(trainer.step)" : ""))
        try trainer.run { e in
            var line = String(format: "step %d/%d  loss %.4f  lr %.2e  |g| %.3f  %.0f tok/s  ETA %@",
                              e.step, o.steps, e.loss, e.learningRate, e.gradientNorm, e.tokensPerSecond, ProgressLine.duration(e.etaSeconds))
            if let p = e.positionalGradientNorm { line += String(format: "  |g_pos| %.3g", p) }
            if let v = e.validationLoss { line += String(format: "  val %.4f (ppl %.2f)", v, Foundation.exp(v)) }
            if let c = e.checkpoint { line += "  saved \((c as NSString).lastPathComponent)" }
            emit(line)
        }
        return 0
    }
}
