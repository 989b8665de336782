import CLEXModel
import CLEXTensor
import CLEXTokenizer
import Foundation

/// The options of the commands that run a model for text (`generate`, `chat`): the model, its
/// context, threads, sampling (llama.cpp's names as aliases), the tokenizer, the weight types,
/// every positional flag and the prefill's rotation.
struct ModelRunOptions {
    /// The largest token count accepted for a context or a generation (2²⁴); the memory check
    /// refuses what does not fit long before.
    static let tokenLimit = 1 << 24

    static let options: [OptionSpec] = [
        OptionSpec("--model", ["-m"], value: "FILE"),
        OptionSpec("--context", ["-c", "--ctx-size"], value: "N"),
        CommandSpec.threadsOption,
        OptionSpec("--temperature", ["--temp"], value: "T"),
        OptionSpec("--top-k", value: "K"),
        OptionSpec("--top-p", value: "P"),
        OptionSpec("--min-p", value: "P"),
        OptionSpec("--repeat-penalty", value: "X"),
        OptionSpec("--repeat-last-n", value: "N"),
        OptionSpec("--seed", ["-s"], value: "S"),
        OptionSpec("--ignore-eos", value: nil),
        TokenizerOption.option,
        PrefillOption.option,
    ] + CacheTypeOption.options + CommandSpec.weightsOptions + CommandSpec.positionalOptions

    static let help = """
      -c, --context N         KV-cache capacity in tokens, 2 … 16777216 (also --ctx-size; default:
                              generate: prompt + max tokens, chat and serve (per slot): the model's
                              context, at most 4096)
      -t, --threads N         threads for the engine and OpenBLAS, 1 … 1024 (default: every core)
      --temperature T         0 = greedy (default 0; also --temp), 0 … 100
      --top-k K               keep the K most likely tokens (default 0 = all)
      --top-p P               nucleus sampling mass in (0, 1] (default 1)
      --min-p P               drop tokens less likely than P × the most likely one, 0 … 1 (default 0)
      --repeat-penalty X      divide the logits of recent tokens by X (multiply when negative), 0.01 … 100
                              (default 1 = off), over the last --repeat-last-n N tokens (0 … 1048576, default 64)
      -s, --seed S            sampling seed, 0 … 2^64−1, or -1 for a random one (default 0)
      --ignore-eos            keep generating past the end-of-text token
      --tokenizer bytes|FILE  a tokenizer.json, a GGUF's vocabulary or "bytes" instead of the checkpoint's
    \(CacheTypeOption.help)
    \(PrefillOption.help(column: 26, forward: "here the prompt (in chat, each turn's new tokens) is one forward"))
    \(WeightsOption.help)
      positional method       the checkpoint's own (config.json rope_scaling, GGUF llama.rope.*), changed by
                              --rope-scaling none|linear|ntk|dynamic|yarn|longrope|llama3|alibi|clex,
                              --rope-scale S, --rope-freq-base B, --rope-freq-scale F, --yarn-orig-ctx N,
                              --yarn-ext-factor E, --yarn-attn-factor A, --yarn-beta-fast X, --yarn-beta-slow X,
                              --clex-max-factor T, --clex-param-factor λ, --clex-act tanh|silu, --clex-dt h,
                              --clex-continuous, --clex-hold-at-max, --clex-log-scale; CLEX's t follows the
                              context (t = ⌈N / L⌉ for the tokens so far), as in clex eval
    """

    var context: Int?
    var sampler: Sampler
    var ignoreEOS: Bool
    var weights: WeightsOption
    var cacheTypes: KVCacheTypes
    var prefill: PrefillRotation

    /// Reads and range-checks the options.
    init(_ args: Arguments) throws {
        context = try args.int("--context", in: 2...Self.tokenLimit)
        sampler = Sampler(temperature: try args.float("--temperature", 0, in: 0...100), topK: try args.int("--top-k", 0, in: 0...Int(Int32.max)),
                          topP: try args.float("--top-p", 1, in: 1e-9...1), seed: try args.seed("--seed", 0))
        sampler.minP = try args.float("--min-p", 0, in: 0...1)
        sampler.repeatPenalty = try args.float("--repeat-penalty", 1, in: 0.01...100)
        sampler.repeatWindow = try args.int("--repeat-last-n", 64, in: 0...(1 << 20))
        ignoreEOS = args.flag("--ignore-eos")
        weights = try WeightsOption(args)
        cacheTypes = try CacheTypeOption.parse(args)
        prefill = try PrefillOption.value(args)
    }

    /// Loads the model at `path` with its tokenizer and positional method (after the positional
    /// flags of `args`).
    func load(_ path: String, args: Arguments) throws -> ModelRun {
        guard FileManager.default.fileExists(atPath: path) else { throw InputError("--model: \(path) does not exist") }
        let loaded = try ModelLoader.load(path)
        let tokenizer = try TokenizerOption.resolve(args, loaded: loaded, modelPath: path)
        let (method, _) = try loaded.positionalMethod(overrides: args.positionalOverrides())
        return ModelRun(loaded: loaded, model: try weights.apply(to: loaded.model), tokenizer: tokenizer, method: method,
                        precision: weights.precision, cacheTypes: cacheTypes, prefill: prefill)
    }
}

/// A loaded model ready to generate: weights, tokenizer and positional method.
struct ModelRun {
    var loaded: LoadedModel
    var model: LlamaModel
    var tokenizer: any Tokenizer
    var method: any PositionalMethod
    var precision: ActivationPrecision
    var cacheTypes: KVCacheTypes
    var prefill: PrefillRotation

    /// Warns when the tokenizer lacks ChatML's tokens (conversations are written in ChatML).
    func warnUnlessChatML() {
        if tokenizer.id(forToken: "<|im_start|>") == nil || tokenizer.id(forToken: "<|im_end|>") == nil {
            note("warning: this tokenizer has no <|im_start|>/<|im_end|> tokens; the ChatML prompts will be plain text")
        }
    }

    /// A generator over a session of `capacity` tokens; fails first when the positional method
    /// cannot serve that context (CLEX past T·L) or the memory would not suffice.
    func generator(capacity: Int, sampler: Sampler) throws -> Generator {
        Generator(session: try session(capacity: capacity), tokenizer: tokenizer, sampler: sampler)
    }

    /// A session of `capacity` tokens; fails first when the positional method cannot serve that
    /// context or the memory would not suffice.
    func session(capacity: Int) throws -> InferenceSession {
        _ = try method.inference(contextLength: capacity)
        return try InferenceSession(model: model, capacity: capacity, positional: method, precision: precision,
                                    prefill: prefill, cacheTypes: cacheTypes)
    }
}
