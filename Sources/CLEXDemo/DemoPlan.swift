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
/// 4. evaluate all five at L, 2L, 4L, 8L, 16L on held-out plays ("test long").
public struct DemoPlan: Sendable {
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
    public var seed: UInt64 = 1

    /// The default demo (about 20 minutes on a 2-core machine).
    public static let standard = DemoPlan(window: 128, batch: 32, continueLength: 128, baseSteps: 360, continueSteps: 200,
                                          baseLearningRate: 3e-3, continueLearningRate: 1e-3, factor: 16,
                                          multiples: [1, 2, 4, 8, 16], maxWindows: 24,
                                          heldOut: ["hamlet", "macbeth", "othello", "lear", "tempest"])

    /// A smoke run (a few minutes): the same stages, tiny budgets, so only the plumbing is checked.
    public static let quick = DemoPlan(window: 64, batch: 8, continueLength: 128, baseSteps: 30, continueSteps: 10,
                                       baseLearningRate: 3e-3, continueLearningRate: 1e-3, factor: 16,
                                       multiples: [1, 2, 4, 8, 16], maxWindows: 2,
                                       heldOut: ["macbeth"])

    /// The positional methods of step 2 and 3, by label, with their command-line flags.
    var methods: [(label: String, flags: [String])] {
        [("RoPE", []),
         ("PI ×\(factor)", ["--rope-scaling", "linear", "--rope-scale", "\(factor)"]),
         ("YaRN ×\(factor)", ["--rope-scaling", "yarn", "--rope-scale", "\(factor)", "--yarn-orig-ctx", "\(window)"]),
         ("CLEX T=\(factor)", ["--rope-scaling", "clex", "--clex-max-factor", "\(factor)"])]
    }

    /// Options of a stage on sequences of `length` tokens (`window` or `continueLength`), with
    /// `batch · window` tokens per step.
    func options(steps: Int, learningRate: Float, warmup: Int, length: Int) -> TrainingOptions {
        var o = TrainingOptions()
        o.sequenceLength = length
        o.batchSize = max(batch * window / length, 1)
        o.steps = steps
        o.learningRate = learningRate
        o.warmupSteps = warmup
        o.seed = seed
        o.validateEvery = 0
        o.checkpointEvery = max(steps / 4, 1)
        o.keepCheckpoints = 1
        return o
    }
}
