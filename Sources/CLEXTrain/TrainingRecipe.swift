import Foundation

/// How a run turns gradients and text into updates: this project's defaults, or the PyTorch CLEX
/// reference's (`train/train_lm.py` and `scripts/train_lm.sh` of DAMO-NLP-SG/CLEX, run by
/// transformers' `Trainer`), reproduced exactly.
///
/// | | `standard` | `reference` |
/// |---|---|---|
/// | AdamW β₂, weight decay (defaults) | 0.95, 0.1 | 0.999, 0 (`--weight_decay 0.`) |
/// | gradient clipping | one clip for the model, one for CLEX's U and D | one global clip (HF `max_grad_norm` 1.0) over everything |
/// | learning rate of U and D | `--positional-lr` (default: the model's) | the model's (one optimiser group) |
/// | schedule | update k takes rate(k): warm-up from lr/w, cosine to 10 % | update k takes rate(k − 1) (HF's `LambdaLR`: the first update takes 0 during warm-up), cosine to 0 |
/// | warm-up (default) | 50 steps | ⌈0.03 · steps⌉ (`--warmup_ratio 0.03`) |
/// | learning rate (default) | 1e-3 | 2e-5 (the script's, for fine-tuning a 7B model) |
/// | data | documents joined with EOS; windows of N + 1 tokens (N targets) | documents back to back without a separator, exact N-token chunks (N − 1 targets: HF shifts the labels) |
/// | CLEX's last training position | (N·t − 1)/s (clex.md §3) | ⌊N·t/s⌋ − 1 (integer division, as the reference) |
///
/// Both count Adam's bias correction per parameter (PyTorch's `state['step']`: no update without
/// a gradient). Left as they are under either recipe: Float32 rather than bf16 weights and
/// DeepSpeed, the order of the chunks (a seeded shuffle of all of them rather than of buffers of
/// 256 sequences), and the seeds of the random draws.
public enum TrainingRecipe: String, Codable, Sendable, CaseIterable {
    case standard
    case reference

    /// Default peak learning rate.
    public var learningRate: Float { self == .reference ? 2e-5 : 1e-3 }
    /// Default warm-up of a run of `steps` optimiser steps.
    public func warmupSteps(steps: Int) -> Int {
        self == .reference ? Int((0.03 * Double(steps)).rounded(.up)) : 50
    }
    public var beta2: Float { self == .reference ? 0.999 : 0.95 }
    public var weightDecay: Float { self == .reference ? 0 : 0.1 }
    /// Floor of the cosine decay as a fraction of the peak.
    public var minimumLearningRateFraction: Float { self == .reference ? 0 : 0.1 }
    /// How the text becomes training examples.
    public var chunking: ChunkBatcher.Chunking { self == .reference ? .exact : .windows }
    /// Whether documents are joined with the end-of-text token.
    public var separatesDocuments: Bool { self == .standard }
}
