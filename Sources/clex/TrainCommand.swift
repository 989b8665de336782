import CLEXModel
import CLEXTokenizer
import CLEXTrain
import Foundation

/// `clex train`: pretrain a preset model or fine-tune a checkpoint, with any positional method.
enum TrainCommand {
    static let help = """
    usage: clex train --data PATH[,PATH…] --out DIR (--preset tiny|small | --model FILE) [options]

    model and data
      --data PATHS            text files, directories (*.txt, *.md, *.jsonl) or JSONL files with a
                              "text" field, comma-separated; documents are joined with EOS
      --preset NAME           pretrain from scratch: tiny (≈1.6 M parameters) or small (≈12.7 M)
      --model FILE            fine-tune a checkpoint (GGUF dequantised to Float32, safetensors, llama2.c)
      --tokenizer bytes|FILE  tokenizer for --preset: "bytes" (default; 257 ids) or a tokenizer.json
                              or GGUF file whose vocabulary to use
      --context L             the model's window L (max_position_embeddings): a preset's (default 256), or
                              with --model a new one for fine-tuning (CLEX's L: t = length / L)
      --validation-fraction F share of documents held out for validation (default 0.05)
      --cache DIR             tokenized-corpus cache (default DIR/../.token-cache beside --out)
    run
      --out DIR               checkpoints (checkpoint-NNNNNN/), log.jsonl
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
    positional method (llama.cpp's vocabulary, plus CLEX)
      --rope-scaling none|linear|ntk|dynamic|yarn|longrope|llama3|alibi|clex
      --rope-scale S, --rope-freq-base B, --yarn-orig-ctx N, --yarn-beta-fast X, --yarn-beta-slow X, …
      --clex-max-factor T, --clex-param-factor λ, --clex-act tanh|silu, --clex-dt h, --clex-log-scale
    """

    static func run(_ raw: [String]) throws -> Int32 {
        if raw.contains("--help") || raw.contains("-h") { print(help); return 0 }
        // Positional flags first (they share the command line), the rest here.
        let preset = value(raw, "--preset").flatMap(ModelPreset.init(rawValue:))
        if let p = value(raw, "--preset"), preset == nil { throw UsageError("--preset must be tiny or small, got '\(p)'") }
        let modelPath = value(raw, "--model")
        guard (preset == nil) != (modelPath == nil) else { throw UsageError("train needs exactly one of --preset NAME or --model FILE") }

        var tokenizer: any Tokenizer
        var model: LlamaModel
        var positionalBase: PositionalConfiguration
        var loadedCheckpoint: LoadedModel?
        if let modelPath {
            let loaded = try ModelLoader.load(modelPath)
            guard let t = loaded.tokenizer else { throw UsageError("\(modelPath) carries no tokenizer") }
            tokenizer = t
            model = loaded.model
            positionalBase = loaded.positional
            if let text = value(raw, "--context") {
                // Train short: the window L the positional method counts from (CLEX's L, the original
                // length of PI/YaRN/dynamic NTK), saved as max_position_embeddings.
                guard let context = Int(text), context >= 2 else { throw UsageError("--context must be an integer ≥ 2") }
                model.configuration.maxPositionEmbeddings = context
                positionalBase.contextLength = context
            }
            loadedCheckpoint = loaded
        } else {
            let tokenizerChoice = value(raw, "--tokenizer") ?? "bytes"
            tokenizer = try loadTokenizer(tokenizerChoice)
            let context = Int(value(raw, "--context") ?? "256") ?? 0
            guard context >= 2 else { throw UsageError("--context must be an integer ≥ 2") }
            let seed = UInt64(value(raw, "--seed") ?? "1") ?? 1
            let config = preset!.configuration(vocabularySize: tokenizer.vocabularySize, context: context,
                                               eosTokenID: tokenizer.eosID.map(Int.init))
            model = LlamaModel(configuration: config, parameters: LlamaParameters(randomFor: config, seed: seed))
            positionalBase = PositionalConfiguration(model: config)
        }
        let (positionalConfig, rest) = try positionalBase.applyingCommandLine(raw)
        var args = try Arguments(rest, switches: ["--resume"])
        _ = args.string("--preset"); _ = args.string("--model"); _ = args.string("--tokenizer"); _ = args.string("--context")
        guard let dataList = args.string("--data") else { throw UsageError("train needs --data PATHS") }
        guard let out = args.string("--out") else { throw UsageError("train needs --out DIR") }
        let resume = args.flag("--resume")
        var o = TrainingOptions()
        o.sequenceLength = try args.int("--seq-len", model.configuration.maxPositionEmbeddings)
        o.batchSize = try args.int("--batch", o.batchSize)
        o.accumulation = try args.int("--accum", o.accumulation)
        o.steps = try args.int("--steps", o.steps)
        o.learningRate = try args.float("--lr", o.learningRate)
        o.warmupSteps = try args.int("--warmup", o.warmupSteps)
        if let s = args.string("--schedule") {
            guard let shape = LearningRateSchedule.Shape(rawValue: s) else { throw UsageError("--schedule must be cosine or constant") }
            o.schedule = shape
        }
        o.minimumLearningRateFraction = try args.float("--min-lr-fraction", o.minimumLearningRateFraction)
        if args.string("--positional-lr") != nil { o.positionalLearningRate = try args.float("--positional-lr", 0) }
        o.weightDecay = try args.float("--weight-decay", o.weightDecay)
        o.beta1 = try args.float("--beta1", o.beta1)
        o.beta2 = try args.float("--beta2", o.beta2)
        o.clipNorm = try args.float("--clip", o.clipNorm)
        o.seed = UInt64(try args.int("--seed", Int(o.seed)))
        o.validateEvery = try args.int("--validate-every", o.validateEvery)
        o.validationBatches = try args.int("--validation-batches", o.validationBatches)
        o.checkpointEvery = try args.int("--checkpoint-every", o.checkpointEvery)
        o.keepCheckpoints = try args.int("--keep", o.keepCheckpoints)
        if let f = args.string("--freeze") { o.frozen = f.split(separator: ",").map(String.init) }
        let fraction = Double(try args.float("--validation-fraction", 0.05))
        let cache = args.string("--cache") ?? ((out as NSString).deletingLastPathComponent as NSString).appendingPathComponent(".token-cache")
        try args.rejectUnknown()
        try o.validate()

        let corpus = try TokenCorpus.load(paths: dataList.split(separator: ",").map(String.init), tokenizer: tokenizer,
                                          separator: tokenizer.eosID, validationFraction: fraction, seed: o.seed,
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
        if !resume, FileManager.default.fileExists(atPath: (out as NSString).appendingPathComponent("latest")) {
            throw UsageError("\(out) already holds a run: add --resume to continue it, or choose another --out")
        }
        if tokenizer is ByteTokenizer { try ByteTokenizerMarker.write(into: out) }
        let c = model.configuration
        emit("training \(c.parameterCount) parameters (\(c.layerCount) layers, width \(c.hiddenSize)), "
              + "\(positionalConfig.scheme.typeName) positions, \(corpus.trainingTokens.count) training / "
              + "\(corpus.validationTokens.count) validation tokens, \(trainer.tokensPerStep) tokens per step"
              + (resume ? ", resuming at step \(trainer.step)" : ""))
        try trainer.run { e in
            var line = String(format: "step %d/%d  loss %.4f  lr %.2e  |g| %.3f  %.0f tok/s  ETA %@",
                              e.step, o.steps, e.loss, e.learningRate, e.gradientNorm, e.tokensPerSecond, duration(e.etaSeconds))
            if let p = e.positionalGradientNorm { line += String(format: "  |g_pos| %.3g", p) }
            if let v = e.validationLoss { line += String(format: "  val %.4f (ppl %.2f)", v, Foundation.exp(v)) }
            if let c = e.checkpoint { line += "  saved \((c as NSString).lastPathComponent)" }
            emit(line)
        }
        return 0
    }

    static func value(_ args: [String], _ flag: String) -> String? {
        guard let i = args.firstIndex(of: flag), i + 1 < args.count else { return nil }
        return args[i + 1]
    }

    static func loadTokenizer(_ choice: String) throws -> any Tokenizer {
        if choice == "bytes" { return ByteTokenizer() }
        if choice.hasSuffix(".json") { return try BPETokenizer(tokenizerJSONAt: URL(fileURLWithPath: choice)) }
        guard let t = try ModelLoader.load(choice).tokenizer else { throw UsageError("\(choice) carries no tokenizer") }
        return t
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds)
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
