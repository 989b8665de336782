#!/usr/bin/env python3
"""Time to first token of `clex serve` for a question about a long document, read from scratch
and with the document cached by an earlier question (Python standard library only; not in CI).

Each round prepends a fresh nonce to the document, so its first question finds nothing cached;
the second question of the round shares the document (the system message) and reads only its
own tokens. Prints one JSON line: per-round times, medians and the ratio.

    clex serve -m cache/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf --ctx-size 8192 --port 8181 &
    python3 bench/serve/ttft.py --url http://127.0.0.1:8181 --text cache/assets/shakespeare/hamlet.txt --tokens 4096
"""
import argparse
import json
import statistics
import time
import urllib.request
import uuid


def post(url, body, stream=False):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    return urllib.request.urlopen(request, timeout=3600) if stream else json.load(urllib.request.urlopen(request, timeout=3600))


def ask(url, system, question):
    """Streams one answer; returns (seconds to the first content chunk, usage, timings)."""
    started = time.perf_counter()
    first, usage, timings = None, None, None
    body = {"messages": [{"role": "system", "content": system}, {"role": "user", "content": question}],
            "max_tokens": 16, "temperature": 0, "stream": True, "stream_options": {"include_usage": True}}
    with post(url + "/v1/chat/completions", body, stream=True) as response:
        for line in response:
            line = line.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("choices") and chunk["choices"][0]["delta"].get("content") and first is None:
                first = time.perf_counter() - started
            usage = chunk.get("usage", usage)
            timings = chunk.get("timings", timings)
    return first, usage, timings


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--text", required=True, help="a long plain-text file to take the document from")
    parser.add_argument("--tokens", type=int, default=4096, help="document length in tokens")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    text = open(args.text, encoding="utf-8", errors="replace").read()
    ids = post(args.url + "/tokenize", {"content": text[: args.tokens * 8]})["tokens"][: args.tokens]
    document = post(args.url + "/detokenize", {"tokens": ids})["content"]
    rounds = []
    for _ in range(args.rounds):
        system = f"Document {uuid.uuid4()}:\n\n{document}"
        cold = ask(args.url, system, "Who speaks first in this document?")
        warm = ask(args.url, system, "Name one place mentioned in the document.")
        rounds.append({"cold_s": cold[0], "warm_s": warm[0],
                       "cold_prompt_tokens": cold[1]["prompt_tokens"], "cold_cached": cold[1]["prompt_tokens_details"]["cached_tokens"],
                       "warm_prompt_tokens": warm[1]["prompt_tokens"], "warm_cached": warm[1]["prompt_tokens_details"]["cached_tokens"],
                       "cold_prompt_ms": cold[2]["prompt_ms"], "warm_prompt_ms": warm[2]["prompt_ms"]})
        print(json.dumps(rounds[-1]), flush=True)
    cold = statistics.median(r["cold_s"] for r in rounds)
    warm = statistics.median(r["warm_s"] for r in rounds)
    print(json.dumps({"document_tokens": len(ids), "median_cold_ttft_s": round(cold, 3), "median_warm_ttft_s": round(warm, 3),
                      "speedup": round(cold / warm, 1)}))


if __name__ == "__main__":
    main()
