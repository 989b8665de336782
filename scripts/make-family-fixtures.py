#!/usr/bin/env python3
"""Golden fixtures of the model families for Tests/CLEXModelTests/FamilyGoldenTests.swift,
written by the real reference code (run by hand, not at test time).

Each fixture is a tiny random checkpoint saved by transformers (model.safetensors +
config.json, float32, a byte-level vocabulary of 260: ids 0-255 are bytes, 256 the end
of text, as this tool's byte tokenizer numbers them) in Tests/Fixtures/Families/<name>/, and
golden.json beside it:
- "nll": for each length n, the token-level NLLs of tokens 1..n-1 of `tokens[:n]` read in one
  forward call (the reference's one rotation per call: for CLEX, t = ceil(n / L));
- "prompt", "greedy": `model.generate(prompt, do_sample=False, max_new_tokens=8)` — the prompt
  is read in one call, then one token per call (t follows the context).

Families: Phi-2 and Mixtral with CLEX (the CLEX reference's CLEX/phi2/modeling_phi2_clex.py and
CLEX/mixtral/modeling_mixtral_clex.py, nonzero ODE weights), GPT-NeoX with parallel and with sequential residual, Mistral with a window past every length and
with a sliding window of 12 (transformers 4.36.2).
L = 16, CLEX max_factor 4, so lengths past 16 have t > 1. Qwen2 (q/k/v biases) came to transformers
after the reference's 4.36.2, so it is written by a second run under a newer one (`--qwen2`).

    python3 -m venv venv && venv/bin/pip install torch transformers==4.36.2 safetensors torchdiffeq
    git clone https://github.com/DAMO-NLP-SG/CLEX /tmp/CLEX     # the reference (HEAD 023709d)
    venv/bin/python scripts/make-family-fixtures.py /tmp/CLEX
    python3 -m venv venv2 && venv2/bin/pip install torch transformers==4.46.3 safetensors
    venv2/bin/python scripts/make-family-fixtures.py --qwen2
"""
import json
import os
import sys
import types

import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "Families")
V, E, HEADS, FFN, LAYERS, L = 260, 32, 2, 64, 2, 16
LENGTHS = [8, 16, 17, 33, 50, 64]
CLEX = {"type": "clex", "max_factor": 4, "param_factor": 1, "act": "tanh", "time_dt": 0.01, "factor": 1}


def reference_classes(root):
    # clex_layer.py imports wandb (unused by the forward); a stub keeps the dependency out.
    sys.modules.setdefault("wandb", types.ModuleType("wandb"))
    sys.path.insert(0, root)
    from CLEX.phi2.configuration_phi2_clex import CLEXPhiConfig
    from CLEX.phi2.modeling_phi2_clex import PhiForCausalLM
    from CLEX.mixtral.configuration_mixtral_clex import MixtralConfig
    from CLEX.mixtral.modeling_mixtral_clex import MixtralForCausalLM
    return CLEXPhiConfig, PhiForCausalLM, MixtralConfig, MixtralForCausalLM


def randomize(model, seed):
    """Every parameter N(0, 0.3²) — norms around 1 — so biases and LayerNorm affine terms matter."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g) * 0.3
            p.copy_(1 + noise if "norm" in name and name.endswith("weight") else noise)


def nlls(model, tokens):
    out = {}
    for n in LENGTHS:
        ids = torch.tensor([tokens[:n]])
        with torch.no_grad():
            logits = model(ids).logits[0].double()
        logp = torch.log_softmax(logits[:-1], dim=-1)
        out[str(n)] = [-logp[i, tokens[i + 1]].item() for i in range(n - 1)]
    return out


def save(name, model, seed):
    model.eval()
    g = torch.Generator().manual_seed(seed + 100)
    # Printable ASCII: the ids are the bytes of `text`, as `--tokenizer bytes` reads a text file.
    tokens = torch.randint(32, 127, (max(LENGTHS),), generator=g).tolist()
    prompt = tokens[:20]
    with torch.no_grad():
        # An explicit mask: generate() would otherwise mask every prompt token equal to pad_token_id.
        ids = torch.tensor([prompt])
        greedy = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=8,
                                min_new_tokens=8, pad_token_id=0, eos_token_id=None)[0, len(prompt):].tolist()
    directory = os.path.join(OUT, name)
    model.save_pretrained(directory, safe_serialization=True)
    os.remove(os.path.join(directory, "generation_config.json"))   # not read by the tests
    golden = {"text": bytes(tokens).decode("ascii"), "tokens": tokens, "nll": nlls(model, tokens), "prompt": prompt, "greedy": greedy,
              "torch": torch.__version__, "transformers": transformers.__version__}
    with open(os.path.join(directory, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
    print(name, "greedy", greedy, "mean NLL at 64", sum(golden["nll"]["64"]) / 63)


COMMON = dict(vocab_size=V, hidden_size=E, intermediate_size=FFN, num_hidden_layers=LAYERS,
              num_attention_heads=HEADS, max_position_embeddings=L, bos_token_id=None, eos_token_id=256,
              tie_word_embeddings=False)


def qwen2():
    """Qwen2 (transformers >= 4.37): the LLaMA block with q/k/v biases, no sliding window."""
    torch.manual_seed(0)
    model = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(
        **COMMON, num_key_value_heads=1, rms_norm_eps=1e-5, rope_theta=10000.0, use_sliding_window=False,
        attn_implementation="eager"))
    randomize(model, 6)
    save("qwen2", model, 6)


def main():
    if sys.argv[1:] == ["--qwen2"]:
        return qwen2()
    CLEXPhiConfig, PhiForCausalLM, CLEXMixtralConfig, MixtralForCausalLM = reference_classes(sys.argv[1])
    torch.manual_seed(0)
    common = COMMON

    phi = PhiForCausalLM(CLEXPhiConfig(**common, partial_rotary_factor=0.5, rope_scaling=dict(CLEX),
                                       hidden_act="gelu_new", layer_norm_eps=1e-5))
    randomize(phi, 1)
    with torch.no_grad():   # a learned-looking ODE: U random, D small and nonzero (θ(t) stays near RoPE's range)
        down = phi.model.clex_layer.proj_func.ode_down_proj
        down.copy_(torch.randn(down.shape, generator=torch.Generator().manual_seed(9)) * 0.05)
        phi.model.clex_layer.freq_cached = None
    save("phi2-clex", phi, 1)

    # The reference's MixtralConfig takes every field as a keyword (it has no defaults of its
    # own): transformers' MixtralConfig supplies them.
    fields = transformers.MixtralConfig(**dict(common, intermediate_size=32), num_key_value_heads=1, num_local_experts=4,
                                        num_experts_per_tok=2, sliding_window=4096, rms_norm_eps=1e-5).to_dict()
    for key in ["model_type", "transformers_version", "architectures"]:
        fields.pop(key, None)
    mixtral = MixtralForCausalLM(CLEXMixtralConfig(**fields, rope_scaling=dict(CLEX, param_factor=2)))
    randomize(mixtral, 5)
    with torch.no_grad():
        down = mixtral.model.clex_layer.proj_func.ode_down_proj
        down.copy_(torch.randn(down.shape, generator=torch.Generator().manual_seed(10)) * 0.05)
        mixtral.model.clex_layer.freq_cached = None
    save("mixtral-clex", mixtral, 5)

    for name, parallel in [("gptneox", True), ("gptneox-sequential", False)]:
        neox = transformers.GPTNeoXForCausalLM(transformers.GPTNeoXConfig(
            **common, rotary_pct=0.25, rotary_emb_base=10000, use_parallel_residual=parallel, hidden_act="gelu",
            layer_norm_eps=1e-5))
        randomize(neox, 2 if parallel else 3)
        save(name, neox, 2 if parallel else 3)

    mistral = transformers.MistralForCausalLM(transformers.MistralConfig(
        **common, num_key_value_heads=1, sliding_window=4096, rms_norm_eps=1e-5))
    randomize(mistral, 4)
    save("mistral", mistral, 4)

    # A window shorter than the texts and the prompt: each query sees itself and the 11 keys before
    # it (transformers masks key j for query i when i - j >= sliding_window, as llama.cpp does).
    windowed = transformers.MistralForCausalLM(transformers.MistralConfig(
        **common, num_key_value_heads=1, sliding_window=12, rms_norm_eps=1e-5))
    randomize(windowed, 6)
    save("mistral-window", windowed, 6)


if __name__ == "__main__":
    main()
