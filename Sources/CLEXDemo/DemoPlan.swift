import CLEXModel
import CLEXTrain

/// The settings of `clex demo`: the paper's experiment (Chen et al. 2024, §4) at CPU scale on
/// Shakespeare, with a byte-level tokenizer so the tiny model's budget goes into the network
/// rather than a 49k-word embedding.
///
/// 1. pretrain the tiny preset at window L with plain RoPE (`baseSteps`);
/// 2. continue that model for `continueSteps` each under plain RoPE, PI (factor T), YaRN
///    (factor T, original window L) and CLEX (max factor T): the same token budget per method,
///    on sequences of `continueLength` = s·L tokens: s = 1 by default ("train short"). With
///    s = 4 (the paper's "CLEX 16k" run on a 4k model, clex.md §3, §6) every method sees 4L
///    during continuation; measured 2026-12-01 at s = 4, plain RoPE itself then held to 16L
///    (6.02 vs 6.77 at L) and CLEX did not beat it or YaRN — see README "The demo";
/// 3. train an ALiBi model from scratch for `baseSteps + continueSteps` (the same total budget);
/// 4. evaluate all of them at L, 2L, 4L, 8L, 16L on held-out plays ("test long"): perplexity, and
///    passkey retrieval at every length whose prompt fits (the paper's case against ALiBi is that
///    it reads only locally, which perplexity does not show).
///
/// Step 2 runs once per recipe of `recipes` (`TrainingRecipe`: ours, and the PyTorch reference's),
/// from the same base model; the reference recipe's stages and labels are marked "· ref".
public struct DemoPlan: Sendable {
    /// The model size pretrained in step 1.
    public var preset = ModelPreset.tiny
    public var window: Int
    /// Sequences per step of the base (and ALiBi) training, on windows of `window` tokens.
    public var batch: Int
    /// Tokens per sequence of the continuation stage (s·L); its batch keeps the tokens per step
    /// of the base stage.
    public var continueLength: Int
    public var baseSteps: Int
    public var continueSteps: Int
    public var baseLearningRate: Float
    public var continueLearningRate: Float
    /// CLEX's max factor T, also the PI and YaRN factor.
    public var factor: Int
    /// Context lengths evaluated, as multiples of the window.
    public var multiples: [Int]
    /// Windows evaluated per length at most.
    public var maxWindows: Int
    /// Plays held out for evaluation (never trained on, in either edition).
    public var heldOut: [String]
    /// Recipes of the continuation stage, each run for every method.
    public var recipes: [TrainingRecipe] = [.standard, .reference]
    /// Methods continued in step 2, by name: RoPE, PI, YaRN, CLEX.
    public var continued = ["RoPE", "PI", "YaRN", "CLEX"]
    /// Whether step 3 (ALiBi from scratch) runs.
    public var trainsALiBi = true
    /// Passkey needle depths (0 … 1; none: no passkey evaluation) and trials per (length, depth) cell.
    public var passkeyDepths: [Double]
    public var passkeyTrials: Int
    public var seed: UInt64 = 1

    /// The default demo (66 minutes measured on 2 cores shared with other builds, 2026-12-07).
    public static let standard = DemoPlan(window: 128, batch: 32, continueLength: 128, baseSteps: 360, continueSteps: 200,
                                          baseLearningRate: 3e-3, continueLearningRate: 1e-3, factor: 16,
                                          multiples: [1, 2, 4, 8, 16], maxWindows: 24,
                                          heldOut: ["hamlet", "macbeth", "othello", "lear", "tempest"],
                                          passkeyDepths: [0, 0.25, 0.5, 0.75, 1], passkeyTrials: 4)

    /// A smoke run (a few minutes): the same stages, tiny budgets, so only the plumbing is checked.
    public static let quick = DemoPlan(window: 64, batch: 8, continueLength: 128, baseSteps: 30, continueSteps: 10,
                                       baseLearningRate: 3e-3, continueLearningRate: 1e-3, factor: 16,
                                       multiples: [1, 2, 4, 8, 16], maxWindows: 2,
                                       heldOut: ["macbeth"], passkeyDepths: [0.5], passkeyTrials: 1)

    /// The label of a continued model: the method's, marked "· ref" under the reference recipe.
    public static func label(_ method: String, _ recipe: TrainingRecipe) -> String {
        recipe == .standard ? method : method + " · ref"
    }

    /// The stage (folder) of a continuation: `continue-<method>`, prefixed by a non-standard recipe.
    static func stage(_ method: String, _ recipe: TrainingRecipe) -> String {
        (recipe == .standard ? "" : recipe.rawValue + "-") + "continue-" + method.lowercased().filter { $0.isLetter }
    }

    /// The positional methods of step 2 and 3, by label, with their command-line flags.
    var methods: [(label: String, flags: [String])] {
        [("RoPE", []),
         ("PI ×\(factor)", ["--rope-scaling", "linear", "--rope-scale", "\(factor)"]),
         ("YaRN ×\(factor)", ["--rope-scaling", "yarn", "--rope-scale", "\(factor)", "--yarn-orig-ctx", "\(window)"]),
         ("CLEX T=\(factor)", ["--rope-scaling", "clex", "--clex-max-factor", "\(factor)"])]
            .filter { method in continued.contains { method.label == $0 || method.label.hasPrefix($0 + " ") } }
    }

    /// Options of a stage on sequences of `length` tokens (`window` or `continueLength`), with
    /// `batch · window` tokens per step, under `recipe` (its defaults, but this plan's learning
    /// rate: the reference's 2e-5 is for a 7B model; `warmup` nil takes the recipe's).
    func options(steps: Int, learningRate: Float, warmup: Int?, length: Int,
                 recipe: TrainingRecipe = .standard) -> TrainingOptions {
        var o = TrainingOptions(recipe: recipe, steps: steps)
        o.sequenceLength = length
        o.batchSize = max(batch * window / length, 1)
        o.learningRate = learningRate
        if let warmup { o.warmupSteps = warmup }
        o.seed = seed
        o.validateEvery = 0
        o.checkpointEvery = max(steps / 4, 1)
        o.keepCheckpoints = 1
        return o
    }
}
