#!/usr/bin/env python3
"""Checks `clex serve` with the official OpenAI Python client (PyPI `openai`), unchanged:
model list, chat and text completions, streamed and not, usage with cached tokens, and an
OpenAI-shaped 400. Not run in CI (needs PyPI's openai and a running server).

    clex serve -m cache/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf --port 8080 &
    python3 scripts/serve-openai-check.py --base-url http://127.0.0.1:8080/v1
"""
import argparse
import sys

import openai

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--base-url", default="http://127.0.0.1:8080/v1")
parser.add_argument("--api-key", default="none", help="the server's --api-key, if it has one")
args = parser.parse_args()
client = openai.OpenAI(base_url=args.base_url, api_key=args.api_key)
failures = 0


def check(name, ok, detail=""):
    global failures
    print(("PASS " if ok else "FAIL ") + name + (f": {detail}" if detail else ""))
    failures += 0 if ok else 1


model = client.models.list().data[0].id
check("models.list", bool(model), model)

messages = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Name three colours of the rainbow."}]
whole = client.chat.completions.create(model=model, messages=messages, max_tokens=40, temperature=0)
text = whole.choices[0].message.content
check("chat.completions (not streamed)", whole.object == "chat.completion" and bool(text) and whole.usage.prompt_tokens > 0,
      repr(text[:60]))

pieces, usage, reasons = [], None, []
stream = client.chat.completions.create(model=model, messages=messages, max_tokens=40, temperature=0, stream=True,
                                        stream_options={"include_usage": True})
for chunk in stream:
    if chunk.usage:
        usage = chunk.usage
    for choice in chunk.choices:
        if choice.delta.content:
            pieces.append(choice.delta.content)
        if choice.finish_reason:
            reasons.append(choice.finish_reason)
check("chat.completions (streamed) equals the reply not streamed", "".join(pieces) == text, f"{len(pieces)} chunks")
check("stream ends with one finish_reason and the usage", len(reasons) == 1 and usage is not None,
      f"{reasons}, {usage}")
cached = usage.prompt_tokens_details.cached_tokens if usage and usage.prompt_tokens_details else 0
check("the repeated prompt is read from the cache", cached >= usage.prompt_tokens - 1, f"cached_tokens {cached}")

completion = client.completions.create(model=model, prompt="The capital of France is", max_tokens=8, temperature=0)
check("completions (not streamed)", completion.object == "text_completion" and bool(completion.choices[0].text),
      repr(completion.choices[0].text))
streamed = "".join(c.choices[0].text for c in client.completions.create(
    model=model, prompt="The capital of France is", max_tokens=8, temperature=0, stream=True) if c.choices)
check("completions (streamed) equals the reply not streamed", streamed == completion.choices[0].text, repr(streamed))

seeded = [client.chat.completions.create(model=model, messages=messages, max_tokens=20, temperature=0.9, seed=42)
          .choices[0].message.content for _ in range(2)]
check("a seed makes sampling reproducible", seeded[0] == seeded[1])

try:
    client.chat.completions.create(model=model, messages=messages, temperature=5)
    check("temperature 5 is refused", False, "accepted")
except openai.BadRequestError as error:
    check("temperature 5 is refused with a 400 naming the field", error.status_code == 400 and "temperature" in str(error),
          str(error)[:120])

print(f"{failures} failed")
sys.exit(1 if failures else 0)
