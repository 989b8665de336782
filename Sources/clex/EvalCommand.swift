import CLEXEval
import CLEXModel
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

    static let pplHelp = """
    usage: clex eval ppl --model FILE --text PATHS --lengths N,N,… [options]

    Perplexity of every method at every context length; prints a table (rows = methods, columns =
    lengths, "PPL ± standard error", the protocol stated) and writes ppl.json, ppl.csv and ppl.svg.

      --model FILE          GGUF, safetensors (file or directory with config.json) or llama2.c .bin
      --text PATHS          comma-separated text files or directories (their *.txt files); each file is one
                            document, documents are joined with EOS into one token stream
      --lengths N,N,…       context lengths in tokens, each ≥ 2 (a "k" suffix multiplies by 1024: 2k = 2048)
      --protocol P          chunks (default): non-overlapping windows of n, every token after the first scored
                            llamacpp: windows of n, tokens n/2+1 … n−1 scored, BOS first when the vocabulary
                                      adds BOS (llama.cpp-style: llama-perplexity's rule)
                            sliding: windows of n advanced by --stride, only tokens not scored before
                            cached: each sequence of n fed through the KV cache in chunks of --chunk tokens,
                                    every token after the first scored (CLEX reference)
      --stride S            stride of the sliding protocol, 1 ≤ S ≤ every length (default 256)
      --chunk C             chunk of the cached protocol in tokens (default 4096)
      --windows N           at most N windows per length (default: every whole window of the text)
    \(methodsHelp)
      --out DIR             output directory (default ./eval-out)
      --training-length L   mark L on the plot as the training length (default: none)
      --tokenizer FILE      tokenizer.json, a GGUF or "bytes", for a checkpoint that carries none
      --feed-limit N        tokens per forward call for chunks/llamacpp/sliding (default 1024; exact for any N,
                            bounds the memory of the logits)
      --save-tokens FILE    also write the text's token stream (ids, a JSON array) to FILE, e.g. to check
                            that another program scores the same tokens
      --quiet               no progress lines
    """

    static let passkeyHelp = """
    usage: clex eval passkey --model FILE --lengths N,N,… [options]

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
      --feed-limit N        tokens per forward call while reading the prompt (default 1024)
      --tokenizer FILE      tokenizer.json, a GGUF or "bytes", for a checkpoint that carries none
      --quiet               no progress lines
    """

    static func run(_ raw: [String]) throws -> Int32 {
        guard let sub = raw.first else { print(help); return 2 }
        let rest = Array(raw.dropFirst())
        switch sub {
        case "ppl":
            if rest.contains("--help") || rest.contains("-h") { print(pplHelp); return 0 }
            return try perplexity(rest)
        case "passkey":
            if rest.contains("--help") || rest.contains("-h") { print(passkeyHelp); return 0 }
            return try passkey(rest)
        case "--help", "-h", "help":
            print(help + "\n\n" + pplHelp + "\n" + passkeyHelp)
            return 0
        default:
            throw UsageError("unknown eval task '\(sub)' (expected ppl or passkey)")
        }
    }

    static func perplexity(_ raw: [String]) throws -> Int32 {
        var args = try Arguments(raw, switches: ["--quiet"])
        guard let modelPath = args.string("--model") else { throw UsageError("eval ppl needs --model FILE") }
        guard let textList = args.string("--text") else { throw UsageError("eval ppl needs --text PATHS") }
        guard let lengthList = args.string("--lengths") else { throw UsageError("eval ppl needs --lengths N,N,…") }
        let lengths = try integers(lengthList, flag: "--lengths")
        let scoring = try PerplexityProtocol(name: args.string("--protocol") ?? "chunks",
                                             stride: try args.int("--stride", 256), chunk: try args.int("--chunk", 4096))
        let windows = args.string("--windows") != nil ? try args.int("--windows", 0) : nil
        let methodSpec = args.string("--methods") ?? ""
        let seed = try args.int("--seed", 0)
        let out = args.string("--out") ?? "eval-out"
        let trainingLength = args.string("--training-length") != nil ? try args.int("--training-length", 0) : nil
        let feedLimit = try args.int("--feed-limit", 1024)
        let tokensPath = args.string("--save-tokens")
        let quiet = args.flag("--quiet")
        let tokenizerChoice = args.string("--tokenizer")
        try args.rejectUnknown()
        if let stray = args.positional.first { throw UsageError("unexpected argument '\(stray)' (quote --methods groups)") }
        if let w = windows, w < 1 { throw UsageError("--windows must be at least 1, got \(w)") }
        if let L = trainingLength, L < 1 { throw UsageError("--training-length must be at least 1, got \(L)") }
        guard seed >= 0 else { throw UsageError("--seed must be ≥ 0") }

        let loaded = try loadModel(modelPath)
        let tokenizer = try Self.tokenizer(for: loaded, modelPath: modelPath, choice: tokenizerChoice)
        let methods = try MethodGroups.parse(methodSpec, loaded: loaded, seed: UInt64(seed))
        let text = try EvaluationText(paths: textList.split(separator: ",").map(String.init), tokenizer: tokenizer)
        if let tokensPath {
            try JSONEncoder().encode(text.tokens).write(to: URL(fileURLWithPath: tokensPath), options: .atomic)
        }
        // llama.cpp puts BOS first in every chunk when its vocabulary adds BOS.
        let addsBOS = tokenizer.bosID != nil && tokenizer.encode("x", addSpecial: true).first == tokenizer.bosID
        let run = PerplexityRun(model: loaded.model, methods: methods, lengths: lengths, scoring: scoring, maxWindows: windows,
                                bos: addsBOS ? tokenizer.bosID : nil, feedLimit: feedLimit,
                                modelName: (modelPath as NSString).lastPathComponent, trainingLength: trainingLength)
        try run.validate()
        if !quiet {
            log("eval ppl: \(methods.count) method(s) × \(lengths.count) length(s), \(text.files.count) file(s), "
                + "\(text.tokens.count) tokens, protocol: \(scoring.label)")
        }
        let report = try run.run(text: text) { p in if !quiet { log(p.line) } }
        print(report.table())
        let paths = try report.save(to: out)
        print("wrote " + paths.joined(separator: ", "))
        return 0
    }

    /// The model's own tokenizer, or the one `--tokenizer` names (needed for a checkpoint that
    /// carries none, such as a fine-tune of a GGUF model).
    static func tokenizer(for loaded: LoadedModel, modelPath: String, choice: String?) throws -> any Tokenizer {
        if let choice { return try TrainCommand.loadTokenizer(choice) }
        guard let own = loaded.tokenizer else {
            throw EvaluationError("\(modelPath) carries no tokenizer: give --tokenizer FILE (a tokenizer.json or the GGUF it was fine-tuned from)")
        }
        return own
    }

    static func passkey(_ raw: [String]) throws -> Int32 {
        var args = try Arguments(raw, switches: ["--quiet"])
        guard let modelPath = args.string("--model") else { throw UsageError("eval passkey needs --model FILE") }
        guard let lengthList = args.string("--lengths") else { throw UsageError("eval passkey needs --lengths N,N,…") }
        let lengths = try integers(lengthList, flag: "--lengths")
        let depths = try numbers(args.string("--depths") ?? "0,0.25,0.5,0.75,1", flag: "--depths")
        let trials = try args.int("--trials", 5)
        let needles = try args.int("--needles", 1)
        let newTokens = try args.int("--new-tokens", 10)
        let methodSpec = args.string("--methods") ?? ""
        let seed = try args.int("--seed", 0)
        let out = args.string("--out") ?? "eval-out"
        let feedLimit = try args.int("--feed-limit", 1024)
        let quiet = args.flag("--quiet")
        let tokenizerChoice = args.string("--tokenizer")
        try args.rejectUnknown()
        if let stray = args.positional.first { throw UsageError("unexpected argument '\(stray)' (quote --methods groups)") }
        guard seed >= 0 else { throw UsageError("--seed must be ≥ 0") }

        let loaded = try loadModel(modelPath)
        let tokenizer = try Self.tokenizer(for: loaded, modelPath: modelPath, choice: tokenizerChoice)
        let methods = try MethodGroups.parse(methodSpec, loaded: loaded, seed: UInt64(seed))
        let run = PasskeyRun(model: loaded.model, tokenizer: tokenizer, methods: methods, lengths: lengths, depths: depths,
                             trials: trials, task: try RetrievalTask(needles: needles, seed: UInt64(seed)),
                             maxNewTokens: newTokens, feedLimit: feedLimit, modelName: (modelPath as NSString).lastPathComponent)
        try run.validate()
        if !quiet {
            log("eval passkey: \(run.task.name), \(methods.count) method(s) × \(lengths.count) length(s) × "
                + "\(depths.count) depth(s) × \(trials) trial(s)")
        }
        let report = try run.run { p in if !quiet { log(p.line) } }
        print(report.table())
        let paths = try report.save(to: out)
        print("wrote " + paths.joined(separator: ", "))
        return 0
    }

    /// The checkpoint at `path`, with a clear error when the file is missing.
    static func loadModel(_ path: String) throws -> LoadedModel {
        guard FileManager.default.fileExists(atPath: path) else { throw EvaluationError("model file \(path) does not exist") }
        return try ModelLoader.load(path)
    }

    /// Comma-separated lengths, each ≥ 2; "2k" = 2048.
    static func integers(_ list: String, flag: String) throws -> [Int] {
        let values = try list.split(separator: ",").map { item -> Int in
            let word = item.trimmingCharacters(in: .whitespaces).lowercased()
            let value = word.hasSuffix("k") ? Int(word.dropLast()).map { $0 * 1024 } : Int(word)
            guard let v = value, v >= 2 else { throw UsageError("\(flag) expects comma-separated integers ≥ 2, got '\(item)'") }
            return v
        }
        guard !values.isEmpty else { throw UsageError("\(flag) is empty") }
        return values
    }

    /// Comma-separated depths in 0 … 1.
    static func numbers(_ list: String, flag: String) throws -> [Double] {
        let values = try list.split(separator: ",").map { item -> Double in
            guard let v = Double(item.trimmingCharacters(in: .whitespaces)), v >= 0, v <= 1 else {
                throw UsageError("\(flag) expects comma-separated numbers in 0 … 1, got '\(item)'")
            }
            return v
        }
        guard !values.isEmpty else { throw UsageError("\(flag) is empty") }
        return values
    }

    static func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
