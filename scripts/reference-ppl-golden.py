#!/usr/bin/env python3
"""Golden perplexities for Tests/CLEXEvalTests/ReferenceGoldenTests.swift: a float64 numpy port of
the CLEX reference (github.com/DAMO-NLP-SG/CLEX) on a tiny LLaMA whose weights follow a formula
that the Swift test repeats.

What is ported, and from where:
- train/utils.py `calculate_perplexity`: each sequence of eval_len tokens is fed in chunks of
  chunk_size with past_key_values and labels=input_ids; the loss of a chunk is the mean
  cross-entropy of logits[:-1] against input_ids[1:] (HF's shift inside the chunk), weighted by
  the chunk's token count (chunk_tokens = input_ids.ne(pad).sum(): no pad here); PPL =
  exp(total_loss / total_tokens).
- CLEX/llama/modeling_llama_clex.py `LlamaModel.forward`: one CLEX rotation per call, for
  seq_len = seq_length + past_key_values_length; the attention caches keys un-rotated and rotates
  the queries and every cached key with that call's cos/sin (apply_rotary_pos_emb, rotate_half).
- CLEX/clex_layer.py: t = ceil(seq_len / L) capped at max_factor; θ(t) from odeint(ODELinear,
  log inv_freq, [1, 2, …, T], method="rk4", step_size=time_dt): torchdiffeq's rk4 is the 3/8
  rule on the grid 1, 1+h, … (last node clamped), outputs linearly interpolated between nodes.
  ODELinear: f(t, x) = act((x + log θ_NTK(t)) U) D + ξ(t), with the NTK base fixed at 10000.

It also prints "ours": the same model fed one token at a time (each call's t is then the t of
that token's own context: the project's default `split` semantics), every token after the first
scored with equal weight — the `cached` protocol's number.

    python3 scripts/reference-ppl-golden.py     # numpy only; prints the Swift constants
"""
import numpy as np

V, E, HEADS, KV_HEADS, HD, FFN, LAYERS = 32, 16, 2, 1, 8, 24, 2
THETA, EPS, L, T, H = 10000.0, 1e-5, 8, 4, 0.01
LAYER_SLOTS = ["attn_norm", "q", "k", "v", "o", "mlp_norm", "gate", "up", "down"]
SHAPES = {"attn_norm": (E,), "q": (HEADS * HD, E), "k": (KV_HEADS * HD, E), "v": (KV_HEADS * HD, E),
          "o": (E, HEADS * HD), "mlp_norm": (E,), "gate": (FFN, E), "up": (FFN, E), "down": (E, FFN)}


def formula(slot, shape, norm):
    """Element k (row-major) of the weight in slot number `slot` (CheckpointNames.slots order),
    rounded to float32 as the Swift model stores it."""
    k = np.arange(int(np.prod(shape)), dtype=np.float64)
    if norm:
        w = 1 + 0.25 * np.cos(0.9 * k + slot)
    else:
        w = 0.4 * np.sin(0.61 * k + 1.7 * slot + 0.3)
    return w.astype(np.float32).astype(np.float64).reshape(shape)


def model_weights():
    slot = 0
    w = {"embed": formula(slot, (V, E), False)}
    layers = []
    for _ in range(LAYERS):
        layer = {}
        for name in LAYER_SLOTS:
            slot += 1
            layer[name] = formula(slot, SHAPES[name], name.endswith("norm"))
        layers.append(layer)
    w["layers"] = layers
    w["norm"] = formula(slot + 1, (E,), True)
    w["head"] = formula(slot + 2, (V, E), False)
    return w


def ode_weights():
    i = np.arange(HD // 2)[:, None]
    k = np.arange(HD)[None, :]
    up = (0.3 * np.sin(0.37 * i + 0.11 * k)).astype(np.float32).astype(np.float64)          # [d/2, d]
    down = (0.2 * np.cos(0.23 * k.T - 0.19 * i.T)).astype(np.float32).astype(np.float64)    # [d, d/2]
    return up, down


def ode_f(t, x, up, down):
    d = HD
    index = np.arange(0, d, 2, dtype=np.float64)
    alpha = 1.0 if t < 1 else 2 * t - 1
    ntk_base = 10000.0 * alpha ** (d / (d - 2))
    ntk_inv_freq = 1.0 / ntk_base ** (index / d)
    delta = -2 * index / (d - 2) * 1 / (10000.0 ** (index / d) * alpha ** (index / (d - 2) + 1))
    return np.tanh((x + np.log(ntk_inv_freq)) @ up) @ down + delta / ntk_inv_freq


def thetas(inv_freq, up, down):
    """θ(t) for t = 1 … T: torchdiffeq's fixed-grid rk4 (3/8 rule), interpolated at the outputs."""
    n = int(np.ceil((T - 1) / H + 1))
    grid = 1 + np.arange(n) * H
    grid[-1] = min(grid[-1], T)
    ys = [np.log(inv_freq)]
    for t0, t1 in zip(grid[:-1], grid[1:]):
        h, y = t1 - t0, ys[-1]
        k1 = ode_f(t0, y, up, down)
        k2 = ode_f(t0 + h / 3, y + h * k1 / 3, up, down)
        k3 = ode_f(t0 + 2 * h / 3, y + h * (k2 - k1 / 3), up, down)
        k4 = ode_f(t1, y + h * (k1 - k2 + k3), up, down)
        ys.append(y + h * (k1 + 3 * (k2 + k3) + k4) / 8)
    out = []
    for t in range(1, T + 1):
        j = min(max(np.searchsorted(grid, t, side="right") - 1, 0), n - 2)
        s = (t - grid[j]) / (grid[j + 1] - grid[j])
        out.append(np.exp(ys[j] + s * (ys[j + 1] - ys[j])))
    return out


def rms(x, w):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + EPS) * w


def rotate(x, positions, freq):
    """rotate_half RoPE of x [n, heads, d] at `positions` with frequencies `freq` [d/2]."""
    angles = np.outer(positions, freq)
    emb = np.concatenate([angles, angles], axis=-1)[:, None, :]
    half = x.shape[-1] // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * np.cos(emb) + rotated * np.sin(emb)


class Reference:
    """The reference model with a cache of un-rotated keys and values."""

    def __init__(self, weights, theta_table):
        self.w, self.theta = weights, theta_table
        self.keys = [np.zeros((0, KV_HEADS, HD)) for _ in range(LAYERS)]
        self.values = [np.zeros((0, KV_HEADS, HD)) for _ in range(LAYERS)]

    def __call__(self, ids):
        past = self.keys[0].shape[0]
        seq_len = past + len(ids)
        t = min(seq_len // L if seq_len % L == 0 else seq_len // L + 1, T)
        freq = self.theta[t - 1]
        pos = np.arange(past, seq_len)
        h = self.w["embed"][ids]
        for i, lw in enumerate(self.w["layers"]):
            x = rms(h, lw["attn_norm"])
            q = (x @ lw["q"].T).reshape(len(ids), HEADS, HD)
            k = (x @ lw["k"].T).reshape(len(ids), KV_HEADS, HD)
            v = (x @ lw["v"].T).reshape(len(ids), KV_HEADS, HD)
            self.keys[i] = np.concatenate([self.keys[i], k])
            self.values[i] = np.concatenate([self.values[i], v])
            q = rotate(q, pos, freq)
            keys = rotate(self.keys[i], np.arange(seq_len), freq)
            keys = np.repeat(keys, HEADS // KV_HEADS, axis=1)
            values = np.repeat(self.values[i], HEADS // KV_HEADS, axis=1)
            scores = np.einsum("qhd,khd->hqk", q, keys) / np.sqrt(HD)
            scores = np.where(np.arange(seq_len)[None, None, :] <= pos[None, :, None], scores, -np.inf)
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            probs = scores / scores.sum(axis=-1, keepdims=True)
            attn = np.einsum("hqk,khd->qhd", probs, values).reshape(len(ids), HEADS * HD)
            h = h + attn @ lw["o"].T
            x = rms(h, lw["mlp_norm"])
            gate = x @ lw["gate"].T
            h = h + ((gate / (1 + np.exp(-gate))) * (x @ lw["up"].T)) @ lw["down"].T
        return rms(h, self.w["norm"]) @ self.w["head"].T


def nll(logits, targets):
    m = logits.max(axis=-1, keepdims=True)
    logsum = np.log(np.exp(logits - m).sum(axis=-1)) + m[:, 0]
    return logsum - logits[np.arange(len(targets)), targets]


def calculate_perplexity(weights, table, sequences, chunk):
    total_loss, total_tokens = 0.0, 0
    for seq in sequences:
        model = Reference(weights, table)
        for i in range(0, len(seq), chunk):
            ids = seq[i:i + chunk]
            loss = nll(model(ids)[:-1], ids[1:]).mean()
            total_loss += loss * len(ids)
            total_tokens += len(ids)
    return total_loss / total_tokens


def ours(weights, table, sequences):
    scored = []
    for seq in sequences:
        model = Reference(weights, table)
        rows = np.concatenate([model(seq[j:j + 1]) for j in range(len(seq))])
        scored.extend(nll(rows[:-1], seq[1:]))
    return float(np.mean(scored))


def main():
    weights = model_weights()
    up, down = ode_weights()
    inv_freq = 1.0 / THETA ** (np.arange(0, HD, 2, dtype=np.float64) / HD)
    table = thetas(inv_freq, up, down)
    stream = np.array([(3 * k * k + 5 * k + 1) % V for k in range(64)])
    for n, chunk in [(24, 10), (24, 24), (30, 8)]:
        sequences = [stream[w * n:(w + 1) * n] for w in range(2)]
        print(f"(n: {n}, chunk: {chunk}, reference: {float(calculate_perplexity(weights, table, sequences, chunk))!r}, "
              f"ours: {ours(weights, table, sequences)!r}),")


if __name__ == "__main__":
    main()
