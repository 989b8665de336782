#!/usr/bin/env python3
"""One training step of the CLEX reference on a `clex export` directory, and the result loaded
back by clex (run by hand, not in CI).

1. A tiny random LLaMA (byte vocabulary, L = 16) is written by transformers, marked as a byte
   model, and exported by `clex export --rope-scaling clex …` into <work>/llama-clex (the
   reference's train/train_lm.py picks its classes from "llama" in the path).
2. transformers loads the export unchanged: AutoTokenizer and
   AutoModelForCausalLM.from_pretrained(..., trust_remote_code=True) through the export's
   auto_map (the reference package importable: its checkout on PYTHONPATH).
   At the reference's HEAD its LLaMA model calls the CLEX layer with a signature the layer does
   not have; `adapt_reference_llama` bridges that in this process (see there).
3. One AdamW step in training mode (the reference's CLEX layer samples t and spread positions);
   every gradient, the ODE's included, must be finite. The model is saved with save_pretrained.
4. clex reads the trained checkpoint: `clex eval ppl --protocol reference` on a text, against the
   reference's own mean NLL of the same tokens in eval mode.

    venv/bin/python scripts/reference-export-roundtrip.py /tmp/CLEX .build/release/clex /tmp/roundtrip
"""
import json
import math
import os
import shutil
import subprocess
import sys
import types

import torch
import transformers

REFERENCE, CLEX_BINARY, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
sys.modules.setdefault("wandb", types.ModuleType("wandb"))   # imported by CLEX/clex_layer.py, unused here
sys.path.insert(0, REFERENCE)
os.environ["PYTHONPATH"] = REFERENCE + os.pathsep + os.environ.get("PYTHONPATH", "")


def adapt_reference_llama():
    """At HEAD 023709d the reference's LLaMA model calls its CLEX layer as
    clex_layer(device, dtype, seq_len, training) (CLEX/llama/modeling_llama_clex.py, LlamaModel.forward)
    while CLEX/clex_layer.py defines forward(input_embeds, seq_len, do_train) — a TypeError on the
    first forward (its Phi-2 and Mixtral models call the three-argument form). This adapter, applied
    in this process only, accepts the four-argument call; the reference's files stay unedited."""
    from CLEX.clex_layer import CLEXScalingRotaryEmbedding
    original = CLEXScalingRotaryEmbedding.forward

    def forward(self, *args):
        if len(args) == 4 and isinstance(args[0], torch.device):
            device, dtype, seq_len, training = args
            return original(self, torch.empty(0, device=device, dtype=dtype), seq_len, training)
        return original(self, *args)
    CLEXScalingRotaryEmbedding.forward = forward


def main():
    os.makedirs(WORK, exist_ok=True)
    source, export, trained = (os.path.join(WORK, d) for d in ["source", "llama-clex", "llama-clex-trained"])
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=257, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=16,
                                      bos_token_id=None, eos_token_id=256)
    transformers.LlamaForCausalLM(config).save_pretrained(source, safe_serialization=True)
    with open(os.path.join(source, "clex_tokenizer.json"), "w") as f:
        f.write('{"type": "bytes"}\n')
    subprocess.run([CLEX_BINARY, "export", "--model", source, "--out", export, "--rope-scaling", "clex",
                    "--clex-max-factor", "4", "--clex-act", "tanh"], check=True)

    tokenizer = transformers.AutoTokenizer.from_pretrained(export, trust_remote_code=True, use_fast=False)
    model = transformers.AutoModelForCausalLM.from_pretrained(export, trust_remote_code=True)
    adapt_reference_llama()
    print("loaded", type(model).__module__, type(model).__name__, "config", type(model.config).__name__)
    text = "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer. " * 2
    ids = tokenizer(text, return_tensors="pt").input_ids[:, :64]
    assert ids[0].tolist() == list(text.encode()[:64]), "the byte tokenizer.json does not give the bytes"

    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss = model(ids, labels=ids).loss
    loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    missing = [n for n, g in grads.items() if g is None]
    bad = [n for n, g in grads.items() if g is not None and not torch.isfinite(g).all()]
    print(f"training step: loss {loss.item():.4f}, {len(grads) - len(missing)} gradients, "
          f"ODE gradient norm {grads['model.clex_layer.proj_func.ode_up_proj'].norm().item():.3e}")
    assert not missing and not bad, (missing, bad)
    optimizer.step()
    model.eval()
    # save_pretrained would copy the class's module file for auto_map, i.e. the reference's own
    # modeling file, whose `from ..clex_layer` import transformers cannot follow; the config keeps
    # auto_map, and the export's two re-exporting modules are copied instead.
    model._auto_class = None
    model.config._auto_class = None
    model.save_pretrained(trained, safe_serialization=True)
    for module in ["configuration_clex.py", "modeling_clex.py"]:
        shutil.copy(os.path.join(export, module), trained)
    tokenizer.save_pretrained(trained)
    with open(os.path.join(trained, "clex_tokenizer.json"), "w") as f:
        f.write('{"type": "bytes"}\n')

    n = 48   # t = 3 at L = 16
    with torch.no_grad():
        logits = model(ids[:, :n]).logits[0].double()
    nll = -torch.log_softmax(logits[:-1], -1)[range(n - 1), ids[0, 1:n]]
    reference = nll.mean().item()
    with open(os.path.join(WORK, "text.txt"), "w") as f:
        f.write(text[:n])
    out = os.path.join(WORK, "ppl")
    subprocess.run([CLEX_BINARY, "eval", "ppl", "--model", trained, "--tokenizer", "bytes", "--text",
                    os.path.join(WORK, "text.txt"), "--lengths", str(n), "--protocol", "reference", "--chunk", str(n),
                    "-ctk", "f32", "-ctv", "f32", "--out", out], check=True, stdout=subprocess.DEVNULL)
    ours = json.load(open(os.path.join(out, "ppl.json")))
    mean = [v for v in find(ours, "meanNLL")][0]
    print(f"mean NLL of {n} tokens: reference {reference:.10f}, clex {mean:.10f}, relative {abs(mean - reference) / reference:.2e}")
    assert abs(mean - reference) / reference < 1e-4


def find(o, key):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == key:
                yield v
            yield from find(v, key)
    elif isinstance(o, list):
        for v in o:
            yield from find(v, key)


if __name__ == "__main__":
    main()
