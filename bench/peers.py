"""llama.cpp (through PyPI llama-cpp-python) measured the way `clex bench infer` and `clex eval ppl`
measure CLEX-Swift, and the two side by side. Run by bench/peers, which first runs the clex side
and passes its JSON files here; not part of the project's run time.

Protocols (the same on both sides):
- prefill N: N tokens into an empty context, logits of the last row only; median seconds of the
  timed runs after one warm-up (N >= 1024: one run, else >= 3 runs and >= 0.5 s) -> N / seconds.
- decode at context C: prefill C tokens, then 64 tokens fed one at a time; median step -> tok/s.
- perplexity: the text's token stream (UTF-8, no special tokens, no BOS), its first window of L
  tokens, every token after the first scored (`clex eval ppl --protocol chunks --windows 1`):
  mean NLL over L - 1 targets, PPL = exp(mean), standard error sqrt(s^2 / N).
"""
import argparse
import json
import math
import os
import platform
import statistics
import time

import numpy as np
import llama_cpp
from llama_cpp import Llama


def read_text(path):
    # clex reads the file as UTF-8 with invalid bytes replaced (String(decoding:as:)).
    with open(path, "rb") as f:
        return f.read().decode("utf-8", errors="replace")


def timed(body, min_seconds, min_runs, max_runs=200):
    """Median seconds of `body` after one warm-up call, repeated until `min_seconds` have passed
    and at least `min_runs` runs (CLEXBench's Timing.measure)."""
    body()
    samples = []
    start = time.perf_counter()
    while len(samples) < min_runs or (time.perf_counter() - start < min_seconds and len(samples) < max_runs):
        t0 = time.perf_counter()
        body()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), len(samples)


def llama_speed(model, tokens, threads, prefill_lengths, decode_contexts, decode_tokens):
    n_ctx = max(prefill_lengths + [c + decode_tokens for c in decode_contexts])
    llm = Llama(model_path=model, n_ctx=n_ctx, n_batch=max(prefill_lengths), n_ubatch=512,
                n_threads=threads, n_threads_batch=threads, logits_all=False, verbose=False)
    out = {"prefill": [], "decode": []}
    for n in prefill_lengths:
        def prefill():
            llm.reset()  # the next eval drops the KV cache from position 0
            llm.eval(tokens[:n])
        # As InferenceBenchmark: prefills of ≥ 1024 tokens timed once, shorter ones for 0.5 s (≥ 3 runs).
        s, runs = timed(prefill, 0 if n >= 1024 else 0.5, 1 if n >= 1024 else 3)
        out["prefill"].append({"tokens": n, "seconds": s, "runs": runs, "tokensPerSecond": n / s})
        print(f"llama.cpp prefill {n}: {n / s:.1f} tok/s", flush=True)
    for c in decode_contexts:
        llm.reset()
        llm.eval(tokens[:c])
        steps = []
        for t in tokens[c:c + decode_tokens]:
            t0 = time.perf_counter()
            llm.eval([t])
            steps.append(time.perf_counter() - t0)
        s = statistics.median(steps)
        out["decode"].append({"context": c, "tokens": decode_tokens, "secondsPerToken": s,
                              "bestSecondsPerToken": min(steps), "tokensPerSecond": 1 / s})
        print(f"llama.cpp decode at {c}: {1 / s:.1f} tok/s", flush=True)
    return out


def llama_perplexity(model, tokens, threads, length):
    llm = Llama(model_path=model, n_ctx=length, n_batch=length, n_ubatch=512, n_threads=threads,
                n_threads_batch=threads, logits_all=True, verbose=False)
    window = tokens[:length]
    llm.eval(window)
    nll = []
    for start in range(0, length - 1, 256):  # rows 0 … L-2 predict tokens 1 … L-1
        rows = np.asarray(llm.scores[start:min(start + 256, length - 1)], dtype=np.float64)
        top = rows.max(axis=1, keepdims=True)
        lse = top[:, 0] + np.log(np.exp(rows - top).sum(axis=1))
        targets = np.asarray(window[start + 1:start + 1 + len(rows)])
        nll.extend((lse - rows[np.arange(len(rows)), targets]).tolist())
    return summarize(nll, length)


def summarize(nll, length):
    n = len(nll)
    mean = sum(nll) / n
    var = sum((x - mean) ** 2 for x in nll) / (n - 1)
    se = math.sqrt(var / n)
    return {"length": length, "tokens": n, "meanNLL": mean, "standardError": se,
            "perplexity": math.exp(mean), "perplexityError": math.exp(mean) * se}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--text", required=True)
    p.add_argument("--length", type=int, default=2048, help="perplexity window (default 2048)")
    p.add_argument("--clex-infer", required=True, help="JSON of `clex bench infer --json`")
    p.add_argument("--clex-ppl", required=True, help="ppl.json of `clex eval ppl`")
    p.add_argument("--clex-tokens", required=True, help="token ids of `clex eval ppl --save-tokens`")
    p.add_argument("--out", required=True, help="directory for results.md and results.json")
    a = p.parse_args()

    ours = json.load(open(a.clex_infer))
    clex_ppl = json.load(open(a.clex_ppl))
    clex_tokens = json.load(open(a.clex_tokens))
    threads = ours["threads"]  # the same thread count as the clex run

    vocab = Llama(model_path=a.model, vocab_only=True, verbose=False)
    llama_tokens = vocab.tokenize(read_text(a.text).encode("utf-8"), add_bos=False, special=False)
    del vocab
    first_mismatch = next((i for i, (x, y) in enumerate(zip(llama_tokens, clex_tokens)) if x != y), None)
    if first_mismatch is None and len(llama_tokens) != len(clex_tokens):
        first_mismatch = min(len(llama_tokens), len(clex_tokens))
    identical_window = llama_tokens[:a.length] == clex_tokens[:a.length]
    print(f"tokenization: llama.cpp {len(llama_tokens)} ids, clex {len(clex_tokens)} ids, "
          + ("identical" if first_mismatch is None else f"first difference at index {first_mismatch}"), flush=True)

    prefill_lengths = [p["tokens"] for p in ours["prefill"]]
    # `clex bench infer` times each context with the Float32 weights and, for a quantised GGUF,
    # with the file's own blocks (`weights` names which); llama.cpp is timed once per context.
    decode_contexts = list(dict.fromkeys(d["context"] for d in ours["decode"]))
    decode_tokens = ours["decode"][0]["tokens"]
    theirs = llama_speed(a.model, llama_tokens, threads, prefill_lengths, decode_contexts, decode_tokens)
    theirs_ppl = llama_perplexity(a.model, llama_tokens, threads, a.length)
    cell = next(c for c in clex_ppl["cells"] if c["length"] == a.length)
    ours_ppl = cell["measurement"]

    rows = []
    for o, t in zip(ours["prefill"], theirs["prefill"]):
        rows.append((f"prefill {o['tokens']} tokens (tok/s)", t["tokensPerSecond"], o["tokensPerSecond"]))
    for t in theirs["decode"]:
        for o in (d for d in ours["decode"] if d["context"] == t["context"]):
            rows.append((f"decode at context {o['context']}, CLEX weights {o.get('weights', 'F32')} (tok/s)",
                         t["tokensPerSecond"], o["tokensPerSecond"]))
    name = os.path.basename(a.text)
    lines = [
        f"| metric | llama.cpp | CLEX-Swift | ratio |",
        "|---|---|---|---|",
    ]
    for label, t, o in rows:
        lines.append(f"| {label} | {t:.1f} | {o:.1f} | {o / t:.2f}× |")
    rel = (ours_ppl["perplexity"] - theirs_ppl["perplexity"]) / theirs_ppl["perplexity"]
    lines.append(f"| perplexity, {name} first {a.length} tokens ({ours_ppl['tokens']} scored) | "
                 f"{theirs_ppl['perplexity']:.3f} ± {theirs_ppl['perplexityError']:.3f} | "
                 f"{ours_ppl['perplexity']:.3f} ± {ours_ppl['perplexityError']:.3f} | {100 * rel:+.2f} % |")
    notes = [
        f"Model {os.path.basename(a.model)}, {threads} threads on both sides, CPU {ours['cpu']} "
        f"({platform.machine()}); llama-cpp-python {llama_cpp.__version__} (llama.cpp built from source, "
        f"native CPU; its defaults: flash attention off, F16 KV cache; n_batch {max(prefill_lengths)}, "
        f"n_ubatch 512); CLEX-Swift OpenBLAS core {ours['blasCore']}.",
        f"Tokens: llama.cpp and CLEX-Swift give "
        + (f"identical ids for the whole text ({len(clex_tokens)} tokens)." if first_mismatch is None else
           f"{len(llama_tokens)} and {len(clex_tokens)} ids, first difference at index {first_mismatch}; "
           f"the first {a.length} are {'identical' if identical_window else 'NOT identical'}."),
        "Ratios: CLEX-Swift ÷ llama.cpp for speeds (higher = CLEX-Swift faster); for perplexity the "
        "relative difference (CLEX-Swift − llama.cpp) ÷ llama.cpp.",
    ]
    table = "\n".join(lines)
    print("\n" + table + "\n\n" + "\n".join(notes))
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write(table + "\n\n" + "\n".join(notes) + "\n")
    result = {"model": os.path.basename(a.model), "threads": threads, "cpu": ours["cpu"],
              "llamaCppPython": llama_cpp.__version__,
              "systemInfo": llama_cpp.llama_print_system_info().decode(errors="replace"),
              "tokens": {"llamaCpp": len(llama_tokens), "clex": len(clex_tokens),
                         "firstDifference": first_mismatch, "windowIdentical": identical_window},
              "llamaCpp": {**theirs, "perplexity": theirs_ppl},
              "clex": {"prefill": ours["prefill"], "decode": ours["decode"], "perplexity": ours_ppl},
              "rows": [{"metric": l, "llamaCpp": t, "clex": o, "ratio": o / t} for l, t, o in rows]
              + [{"metric": f"perplexity {name} {a.length}", "llamaCpp": theirs_ppl["perplexity"],
                  "clex": ours_ppl["perplexity"], "relativeDifference": rel}]}
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {os.path.join(a.out, 'results.md')}, {os.path.join(a.out, 'results.json')}")


if __name__ == "__main__":
    main()
