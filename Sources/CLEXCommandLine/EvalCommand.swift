import CLEXEval
import CLEXModel
import CLEXTensor
import CLEXTokenizer
import Foundation

/// `clex eval ppl` and `clex eval passkey`: long-context evaluation of positional methods.
enum EvalCommand {
    static let help = """
    usage: clex eval ppl --model FILE --text PATHS --lengths N,N,… [options]
           clex eval passkey --model FILE --lengths N,N,… [options]

    Run `clex eval ppl --help` or `clex eval passkey --help` for the options of each.
    """

    static let methodsHelp = """
      --methods GROUPS      positional methods to compare, separated by ';', each a group of positional
                            flags (llama.cpp's vocabulary): --rope-scaling none|linear|ntk|dynamic|yarn|
                            longrope|llama3|alibi|clex, --rope-scale S, --rope-freq-base B, --yarn-orig-ctx N,
                            --yarn-ext-factor E, --yarn-attn-factor A, --yarn-beta-fast X, --yarn-beta-slow X,
                            --clex-max-factor T, --clex-param-factor λ, --clex-act tanh|silu, --clex-dt h,
                            --clex-continuous, --clex-hold-at-max, --clex-log-scale; plus --ctx-train L (the
                            method's training window L: dynamic-NTK threshold, CLEX's L, default original length
                            of yarn/llama3; default the checkpoint's context length). "none" alone = plain RoPE,
                            "default" = the checkpoint's own method (also the default when --methods is absent).
                            e.g. --methods "none;--rope-scaling linear --rope-scale 4;--rope-scaling clex --clex-max-factor 16"
      --seed S              seed of freshly initialised CLEX weights (default 0)
    """

    static let shared: [OptionSpec] = [
        OptionSpec("--model", ["-m"], value: "FILE"), OptionSpec("--lengths", value: "N,N,…"),
        OptionSpec("--methods", value: "GROUPS"), OptionSpec("--seed", ["-s"], value: "S"),
        OptionSpec("--out", ["-o"], value: "DIR"), OptionSpec("--feed-limit", value: "N"), TokenizerOption.option,
        OptionSpec("--quiet", value: nil), CommandSpec.threadsOption, PrefillOption.option,
    ] + CacheTypeOption.options

    static let pplSpec = CommandSpec("eval ppl", usage: "usage: clex eval ppl --model FILE --text PATHS --lengths N,N,… [options]",
                                     options: shared + [
                                         OptionSpec("--text", ["-f"], value: "PATHS"), OptionSpec("--protocol", value: "P"),
                                         OptionSpec("--stride", value: "S"), OptionSpec("--chunk", value: "C"),
                                         OptionSpec("--windows", value: "N"), OptionSpec("--training-length", value: "L"),
                                         OptionSpec("--save-tokens", value: "FILE"),
                                     ])

    static let passkeySpec = CommandSpec("eval passkey", usage: "usage: clex eval passkey --model FILE --lengths N,N,… [options]",
                                         options: shared + [
                                             OptionSpec("--depths", value: "D,D,…"), OptionSpec("--trials", value: "K"),
                                             OptionSpec("--needles", value: "N"), OptionSpec("--new-tokens", value: "N"),
                                         ])

    static let perplexityCommand = Command(spec: pplSpec, help: pplHelp, run: perplexity)
    static let passkeyCommand = Command(spec: passkeySpec, help: passkeyHelp, run: passkey)

    static let interruptNote = """
      -t, --threads N       threads for the engine and OpenBLAS, 1 … 1024 (default: every core)
    \(CacheTypeOption.help)

    Ctrl-C (SIGINT) or SIGTERM stops after the current piece: the finished cells are written (the
    report marked partial, the others n/a) and the exit status is 130 (143 for SIGTERM).
    """

    static let pplHelp = """
    \(pplSpec.usage)

    Perplexity of every method at every context length; prints a table (rows = methods, columns =
    lengths, "PPL ± standard error", the protocol stated) and writes ppl.json, ppl.csv and ppl.svg.

      --model FILE          GGUF, safetensors (file or directory with config.json) or llama2.c .bin
      -f, --text PATHS      comma-separated text files or directories (their *.txt files); each file is one
                            document, documents are joined with EOS into one token stream
      --lengths N,N,…       context lengths in tokens, 2 … 16777216 (a "k" suffix multiplies by 1024: 2k = 2048)
      --protocol P          chunks (default): non-overlapping windows of n, every token after the first scored
                            llamacpp: windows of n, tokens n/2+1 … n−1 scored, BOS first when the vocabulary
                                      adds BOS (llama.cpp-style: llama-perplexity's rule)
                            sliding: windows of n advanced by --stride, only tokens not scored before
                            cached: each sequence of n fed through the KV cache in chunks of --chunk tokens,
                                    every token after the first scored (the CLEX reference's feeding; the
                                    result does not depend on C)
                            reference: the CLEX reference's calculate_perplexity exactly: as cached, but
                                    each chunk read with the rotation of its end (--clex-prefill single),
                                    each chunk's first token unscored, chunk means weighted by length
      --stride S            stride of the sliding protocol, 1 ≤ S ≤ every length (default 256)
      --chunk C             chunk of the cached and reference protocols in tokens (default 4096)
      --windows N           at most N windows per length (default: every whole window of the text)
    \(methodsHelp)
      --out DIR             output directory (default ./eval-out)
      --training-length L   mark L on the plot as the training length (default: none)
      --tokenizer FILE      tokenizer.json, a GGUF or "bytes", for a checkpoint that carries none
      --feed-limit N        tokens per forward call for chunks/llamacpp/sliding (default 1024; exact for any N,
                            bounds the memory of the logits; unused with --clex-prefill single)
    \(PrefillOption.help(column: 24, forward: "here a window is one forward (cached: a chunk); reference is always single"))
      --save-tokens FILE    also write the text's token stream (ids, a JSON array) to FILE, e.g. to check
                            that another program scores the same tokens
      --quiet               no progress lines
    \(interruptNote)
    """

    static let passkeyHelp = """
    \(passkeySpec.usage)

    Passkey retrieval (evaluation.md's prompt, key 1 … 50000 from a seeded generator, greedy generation
    of ≤ 10 tokens, answer = first integer): accuracy per (length, depth) cell over K trials, k_max (the
    longest length with ≥ 20% success at every depth); prints tables and writes passkey.json and a
    passkey.svg heat map.

      --model FILE          GGUF, safetensors (file or directory with config.json) or llama2.c .bin
      --lengths N,N,…       prompt lengths in tokens, each ≥ 2 (a "k" suffix multiplies by 1024)
      --depths D,D,…        depths of the needle in 0 … 1 (default 0,0.25,0.5,0.75,1)
      --trials K            trials per (length, depth) cell (default 5)
      --needles N           1 (default): passkey; 2 … 24: key-value retrieval with N needles ("The value of
                            key <word> is <number>."), the asked one at the depth, the others at random depths
      --new-tokens N        tokens generated (default 10)
    \(methodsHelp)
      --out DIR             output directory (default ./eval-out)
      --feed-limit N        tokens per forward call while reading the prompt (default 1024; unused with
                            --clex-prefill single)
    \(PrefillOption.help(column: 24, forward: "here the prompt is one forward"))
      --tokenizer FILE      tokenizer.json, a GGUF or "bytes", for a checkpoint that carries none
      --quiet               no progress lines
    \(interruptNote)
    """

    static func perplexity(_ args: Arguments) throws -> Int32 {
        let modelPath = try args.required("--model")
        let textList = try args.required("--text")
        let lengths = try lengthList(args)
        let scoring = try PerplexityProtocol(name: try args.choice("--protocol", "chunks", among: PerplexityProtocol.names),
                                             stride: try args.int("--stride", 256, in: 1...ModelRunOptions.tokenLimit),
                                             chunk: try args.int("--chunk", 4096, in: 1...ModelRunOptions.tokenLimit))
        let windows = try args.int("--windows", in: 1...100_000_000)
        let methodSpec = args.string("--methods") ?? ""
        let seed = try args.seed("--seed", 0)
        let out = args.string("--out") ?? "eval-out"
        let trainingLength = try args.int("--training-length", in: 1...ModelRunOptions.tokenLimit)
        let feedLimit = try args.int("--feed-limit", 1024, in: 1...ModelRunOptions.tokenLimit)
        let tokensPath = args.string("--save-tokens")
        let quiet = args.flag("--quiet")
        let cacheTypes = try CacheTypeOption.parse(args)
        let prefill = try PrefillOption.value(args)
        if case .reference = scoring, prefill == .split, args.given(PrefillOption.option.name) {
            throw UsageError("--protocol reference reads each chunk with the rotation of its end, as the reference does; "
                             + "--clex-prefill split does not apply to it (use --protocol cached for ours)", command: pplSpec.name)
        }
        try OutputLocation.requireWritable(directory: out, flag: "--out")
        if let tokensPath { try OutputLocation.requireWritable(file: tokensPath, flag: "--save-tokens") }

        let loaded = try loadModel(modelPath)
        let tokenizer = try TokenizerOption.resolve(args, loaded: loaded, modelPath: modelPath)
        let methods = try MethodGroups.parse(methodSpec, loaded: loaded, seed: seed)
        let text = try EvaluationText(paths: textList.split(separator: ",").map(String.init), tokenizer: tokenizer)
        if let tokensPath { try ReportFile.write(try JSONEncoder().encode(text.tokens), to: tokensPath) }
        // llama.cpp puts BOS first in every chunk when its vocabulary adds BOS.
        let addsBOS = tokenizer.bosID != nil && tokenizer.encode("x", addSpecial: true).first == tokenizer.bosID
        let run = PerplexityRun(model: loaded.model, methods: methods, lengths: lengths, scoring: scoring, maxWindows: windows,
                                bos: addsBOS ? tokenizer.bosID : nil, feedLimit: feedLimit, prefill: prefill,
                                modelName: (modelPath as NSString).lastPathComponent, trainingLength: trainingLength,
                                cacheTypes: cacheTypes)
        try run.validate()
        if !quiet {
            log("eval ppl: \(methods.count) method(s) × \(lengths.count) length(s), \(text.files.count) file(s), "
                + "\(text.tokens.count) tokens, protocol: \(scoring.label), KV cache \(cacheTypes), \(Parallel.threadCount) threads")
        }
        let report = try Interrupts.cooperating {
            try run.run(text: text, progress: { p in if !quiet { log(p.line) } }, shouldStop: { Interrupts.requested != nil })
        }
        print(report.table())
        let paths = try report.save(to: out)
        print("wrote " + paths.joined(separator: ", "))
        return Interrupts.requested.map(Interrupts.exitStatus) ?? 0
    }

    /// `--lengths`, required: context lengths 2 … 2²⁴ tokens.
    static func lengthList(_ args: Arguments) throws -> [Int] {
        _ = try args.required("--lengths")
        return try args.integers("--lengths", in: 2...ModelRunOptions.tokenLimit)!
    }

    static func passkey(_ args: Arguments) throws -> Int32 {
        let modelPath = try args.required("--model")
        let lengths = try lengthList(args)
        let depths = try args.numbers("--depths", in: 0...1) ?? [0, 0.25, 0.5, 0.75, 1]
        let trials = try args.int("--trials", 5, in: 1...100_000)
        let needles = try args.int("--needles", 1, in: 1...24)
        let newTokens = try args.int("--new-tokens", 10, in: 1...100_000)
        let methodSpec = args.string("--methods") ?? ""
        let seed = try args.seed("--seed", 0)
        let out = args.string("--out") ?? "eval-out"
        let feedLimit = try args.int("--feed-limit", 1024, in: 1...ModelRunOptions.tokenLimit)
        let quiet = args.flag("--quiet")
        let cacheTypes = try CacheTypeOption.parse(args)
        let prefill = try PrefillOption.value(args)
        try OutputLocation.requireWritable(directory: out, flag: "--out")

        let loaded = try loadModel(modelPath)
        let tokenizer = try TokenizerOption.resolve(args, loaded: loaded, modelPath: modelPath)
        let methods = try MethodGroups.parse(methodSpec, loaded: loaded, seed: seed)
        let run = PasskeyRun(model: loaded.model, tokenizer: tokenizer, methods: methods, lengths: lengths, depths: depths,
                             trials: trials, task: try RetrievalTask(needles: needles, seed: seed),
                             maxNewTokens: newTokens, feedLimit: feedLimit, prefill: prefill,
                             modelName: (modelPath as NSString).lastPathComponent, cacheTypes: cacheTypes)
        try run.validate()
        if !quiet {
            log("eval passkey: \(run.task.name), \(methods.count) method(s) × \(lengths.count) length(s) × "
                + "\(depths.count) depth(s) × \(trials) trial(s), prefill \(prefill.rawValue)")
        }
        let report = try Interrupts.cooperating {
            try run.run(progress: { p in if !quiet { log(p.line) } }, shouldStop: { Interrupts.requested != nil })
        }
        print(report.table())
        let paths = try report.save(to: out)
        print("wrote " + paths.joined(separator: ", "))
        return Interrupts.requested.map(Interrupts.exitStatus) ?? 0
    }

    /// The checkpoint at `path`, with a clear error when the file is missing.
    static func loadModel(_ path: String) throws -> LoadedModel {
        guard FileManager.default.fileExists(atPath: path) else { throw InputError("--model: \(path) does not exist") }
        return try ModelLoader.load(path)
    }

    static func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
