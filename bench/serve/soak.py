#!/usr/bin/env python3
"""Soak test of `clex serve` (Python standard library only; not in CI): N concurrent clients
for D seconds, each in a loop sending streamed chat requests, some of which hang up after a few
chunks, and malformed requests now and then. Samples the server's resident memory
(/proc/PID/status) and prints one JSON line: requests by kind, failures of well-formed
requests (a status other than 200, a stream without [DONE], an error event), malformed
requests not answered with a 4xx JSON error, and the memory samples.

    clex serve -m cache/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf --parallel 2 --port 8181 &
    python3 bench/serve/soak.py --port 8181 --pid $! --clients 8 --seconds 600
"""
import argparse
import http.client
import json
import random
import threading
import time

MALFORMED = [
    ("POST", "/v1/chat/completions", b'{"messages": [{"role": "user", "content": "hi"}'),
    ("POST", "/v1/chat/completions", b'{"messages": [{"role": "robot", "content": "hi"}]}'),
    ("POST", "/v1/chat/completions", b'{"messages": [{"role": "user", "content": "hi"}], "temperature": -1}'),
    ("POST", "/v1/chat/completions", b'{"messages": []}'),
    ("POST", "/v1/completions", b'{"prompt": "x", "max_tokens": "ten"}'),
    ("POST", "/v1/completions", b'{"prompt": [1, -5]}'),
    ("POST", "/v1/completions", b'\xff\xfe not json'),
    ("GET", "/v1/chat/completions", b""),
    ("POST", "/v1/nothing", b"{}"),
    ("POST", "/detokenize", b'{"tokens": [99999999]}'),
]
QUESTIONS = ["Tell me a short story about a fox.", "What is the capital of Italy?", "List three fruits.",
             "Explain rain in one sentence.", "Write a haiku about the sea."]


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {"streams": 0, "hang_ups": 0, "malformed": 0, "failed": 0, "malformed_mishandled": 0, "tokens": 0}
        self.failures = []

    def add(self, key, n=1, detail=None):
        with self.lock:
            self.counts[key] += n
            if detail and len(self.failures) < 20:
                self.failures.append(detail)


def stream(host, port, tally, rng):
    hang_up = rng.random() < 0.2
    body = {"messages": [{"role": "user", "content": rng.choice(QUESTIONS)}], "stream": True,
            "max_tokens": rng.randint(8, 64), "temperature": 0.8, "seed": rng.randint(0, 1000)}
    connection = http.client.HTTPConnection(host, port, timeout=600)
    try:
        connection.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        if response.status != 200:
            tally.add("failed", detail=f"status {response.status}: {response.read()[:200]!r}")
            return
        chunks, done = 0, False
        while True:
            line = response.readline()
            if not line:
                break
            line = line.decode().strip()
            if not line.startswith("data: "):
                continue
            if line == "data: [DONE]":
                done = True
                break
            event = json.loads(line[6:])
            if "error" in event:
                tally.add("failed", detail=f"error event {event}")
                return
            chunks += 1
            if hang_up and chunks >= 3:
                tally.add("hang_ups")
                return
        if done:
            tally.add("streams")
            tally.add("tokens", chunks)
        else:
            tally.add("failed", detail="stream ended without [DONE]")
    except Exception as error:  # a well-formed request must never fail
        tally.add("failed", detail=f"{type(error).__name__}: {error}")
    finally:
        connection.close()


def malformed(host, port, tally, rng):
    method, path, body = rng.choice(MALFORMED)
    connection = http.client.HTTPConnection(host, port, timeout=60)
    try:
        connection.request(method, path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        payload = response.read()
        error = json.loads(payload).get("error", {})
        ok = 400 <= response.status < 500 and isinstance(error.get("message"), str)
        tally.add("malformed")
        if not ok:
            tally.add("malformed_mishandled", detail=f"{method} {path}: {response.status} {payload[:200]!r}")
    except Exception as error:
        tally.add("malformed_mishandled", detail=f"{method} {path}: {type(error).__name__}: {error}")
    finally:
        connection.close()


def client(host, port, deadline, tally, seed):
    rng = random.Random(seed)
    while time.time() < deadline:
        if rng.random() < 0.15:
            malformed(host, port, tally, rng)
        else:
            stream(host, port, tally, rng)


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--pid", type=int, required=True, help="the server's process id (for its memory)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=600)
    args = parser.parse_args()
    tally = Tally()
    start = time.time()
    deadline = start + args.seconds
    threads = [threading.Thread(target=client, args=(args.host, args.port, deadline, tally, i)) for i in range(args.clients)]
    for t in threads:
        t.start()
    samples = []
    while any(t.is_alive() for t in threads):
        samples.append((round(time.time() - start), rss_kib(args.pid)))
        time.sleep(min(10, max(1, args.seconds / 30)))
    for t in threads:
        t.join()
    connection = http.client.HTTPConnection(args.host, args.port, timeout=10)
    connection.request("GET", "/health")
    health = json.loads(connection.getresponse().read())
    print(json.dumps({"clients": args.clients, "seconds": round(time.time() - start), **tally.counts,
                      "health_after": health, "rss_kib": samples, "failures": tally.failures}))


if __name__ == "__main__":
    main()
