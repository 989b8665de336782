"""The real-size part of bench/peers: llama.cpp's `llama-bench` and `clex bench infer` on
random-weight GGUFs in TinyLlama-1.1B and LLaMA-2-7B shapes (scripts/make-shape-gguf), with the
peak RSS of every run. Run by `bench/peers shapes`, which builds llama-bench and clex first and
passes their paths here; standard library only; not part of the project's run time.

llama.cpp side, per shape × type × flash attention (off, on): one llama-bench process,

    llama-bench -m FILE -t THREADS -fa FA -r REPS -p PP -n TG -d 0,DEPTH -o json

under `/usr/bin/time -v` (its "Maximum resident set size" is the run's peak RSS). That gives
prefill of PP tokens and decode of TG tokens into an empty context (d 0) and after DEPTH tokens
(the depth prefill is done once per process, then restored), each as tokens/s mean ± sd over the
REPS repetitions (after llama-bench's warm-up). Results are kept under cache/peers/shapes/ and
reused when the same command was run before (--fresh measures again).

The machine may be shared: before each run the driver waits (--quiet, --max-wait) until the CPUs
are mostly idle, and records the share of CPU time other processes took during the run (a
spinning thread pool like llama.cpp's loses far more than that share when a core is taken).

CLEX-Swift side: `clex_command` below (the one place to adjust), under `/usr/bin/time -v`; its
JSON's top-level `peakResidentBytes` is used when present, else time's figure.

Output: one markdown table per shape and type (metric | llama.cpp fa off | fa on | CLEX-Swift |
ratio = CLEX ÷ the better llama.cpp: the faster for speeds, the smaller for memory), printed and
written to cache/peers/shapes.md, and everything machine-readable in cache/peers/shapes.json.
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time

DEFAULT_LENGTHS = {"tinyllama-1.1b": (256, 32), "llama2-7b": (64, 16), "smollm2-135m": (256, 32)}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# CLEX-Swift invocation for the shape models — adjust here.
#
# `clex bench infer` measures prefill of `prompt` tokens and decode of `gen` tokens from a 2-token
# context (its shortest; llama-bench's "empty context") and from `depth` tokens, on the file's
# own weights (read where they lie in the mapped file), on `threads` threads.
def clex_command(clex, model, json_out, prompt, gen, depth, threads):
    """argv of the clex run for one shape GGUF."""
    contexts = "2" + (f",{depth}" if depth > 0 else "")
    return [clex, "bench", "infer", "--model", model, "--threads", str(threads), "--prefill", str(prompt),
            "--contexts", contexts, "--decode-tokens", str(gen), "--json", json_out]


def clex_environment(threads):
    """Extra environment of the clex run (`--threads` also sets OpenBLAS's count)."""
    return {"OPENBLAS_NUM_THREADS": str(threads)}


def clex_memory_estimate(file_bytes, type_name):
    """Bytes the clex run is expected to need, to skip runs that cannot fit in RAM: the mapped
    file, the Float32 KV cache of the deepest context and the activations (~1 GB at 7B)."""
    return file_bytes + 1.2e9
# ---------------------------------------------------------------------------------------------


def run_timed(argv, env=None, stdout_path=None):
    """Runs argv under /usr/bin/time -v; returns (rc, stdout text, stderr text, peak RSS bytes,
    wall seconds)."""
    full_env = dict(os.environ, **(env or {}))
    busy0, _ = cpu_busy_seconds()
    t0 = time.time()
    p = subprocess.run(["/usr/bin/time", "-v"] + argv, env=full_env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, errors="replace")
    wall = time.time() - t0
    busy1, _ = cpu_busy_seconds()
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    rss = int(m.group(1)) * 1024 if m else None
    own = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", p.stderr))
    # Share of the machine's CPU time that other processes took during the run.
    others = max(0.0, (busy1 - busy0 - own) / (wall * (os.cpu_count() or 1)))
    if stdout_path:
        with open(stdout_path, "w") as f:
            f.write(p.stdout)
    return p.returncode, p.stdout, p.stderr, rss, wall, others


def llama_run(llama_bench, model, threads, fa, reps, prompt, gen, depth, raw_dir, fresh, quiet):
    """One llama-bench process (both depths, one flash-attention setting), cached by command.
    quiet = (busy threshold, max wait, max share of others, attempts): a run during which other
    processes took more than that share of the CPUs is repeated (after waiting for a quiet
    machine again), up to `attempts` runs in all; the least disturbed one is kept. A cached
    result is reused only if it was not disturbed beyond the share either."""
    threshold, max_wait, max_others, attempts = quiet
    depths = "0" if depth <= 0 else f"0,{depth}"
    argv = [llama_bench, "-m", model, "-t", str(threads), "-fa", str(fa), "-r", str(reps),
            "-p", str(prompt), "-n", str(gen), "-d", depths, "-o", "json"]
    name = os.path.basename(model)[:-len(".gguf")]
    path = os.path.join(raw_dir, f"llama-{name}-fa{fa}.json")
    cached = None
    if not fresh and os.path.exists(path):
        with open(path) as f:
            cached = json.load(f)
        if cached.get("command") != argv or cached.get("fileBytes") != os.path.getsize(model):
            cached = None
        elif cached.get("othersCPUShare", 1.0) <= max_others:
            log(f"llama.cpp {name} fa {fa}: reusing {path} ({cached['date']}; --fresh measures again)")
            return cached
        else:
            log(f"llama.cpp {name} fa {fa}: the cached run was disturbed (others took "
                f"{cached.get('othersCPUShare', 1.0):.0%} of the CPUs); measuring again")
    best = cached
    history = list(cached.get("attempts", [])) if cached else []
    if cached and not history:
        history = [{"date": cached["date"], "othersCPUShare": cached.get("othersCPUShare"),
                    "wallSeconds": cached.get("wallSeconds"),
                    "tokensPerSecond": {label_test(t): t["avg_ts"] for t in cached["tests"]}}]
    for attempt in range(1, attempts + 1):
        log(f"llama.cpp {name} fa {fa} (attempt {attempt}/{attempts}): " + " ".join(argv))
        busy_before, waited = wait_until_quiet(threshold, max_wait)
        rc, out, err, rss, wall, others = run_timed(argv)
        if rc != 0:
            tail = "\n".join(err.strip().splitlines()[-25:])
            raise SystemExit(f"bench/peers: llama-bench failed (exit {rc}) on {model}:\n{tail}")
        tests = json.loads(out)
        date = datetime.datetime.now().isoformat(timespec="seconds")
        history.append({"date": date, "othersCPUShare": others, "wallSeconds": wall,
                        "tokensPerSecond": {label_test(t): t["avg_ts"] for t in tests}})
        for t in tests:
            log(f"  {label_test(t)}: {t['avg_ts']:.2f} ± {t['stddev_ts']:.2f} tok/s")
        log(f"  peak RSS {rss / 1e9:.2f} GB, {wall:.0f} s; other processes took {others:.0%} of the CPUs meanwhile")
        result = {"date": date, "command": argv,
                  "model": os.path.basename(model), "fileBytes": os.path.getsize(model),
                  "threads": threads, "flashAttention": fa, "repetitions": reps,
                  "peakRSSBytes": rss, "wallSeconds": wall,
                  # Other jobs on the machine: CPU busy share just before (after waiting
                  # `waitedSeconds` for it to fall under --quiet) and the share of all CPU time
                  # others took during the run; `attempts` lists every run of this command.
                  "busyBefore": busy_before, "waitedSeconds": waited, "othersCPUShare": others,
                  "tests": tests}
        if best is None or others < best.get("othersCPUShare", 1.0):
            best = result
        best["attempts"] = history
        with open(path, "w") as f:
            json.dump(best, f, indent=2)
        if others <= max_others:
            break
    return best


def label_test(t):
    kind = f"pp{t['n_prompt']}" if t["n_prompt"] > 0 else f"tg{t['n_gen']}"
    return kind + (f" @ d{t['n_depth']}" if t["n_depth"] else "")


def clex_run(clex, model, type_name, threads, prompt, gen, depth, raw_dir, quiet):
    name = os.path.basename(model)[:-len(".gguf")]
    json_out = os.path.join(raw_dir, f"clex-{name}.json")
    size = os.path.getsize(model)
    need = clex_memory_estimate(size, type_name)
    avail = mem_available()
    argv = clex_command(clex, model, json_out, prompt, gen, depth, threads)
    record = {"model": os.path.basename(model), "command": argv, "threads": threads}
    if avail is not None and need > 0.9 * avail:
        reason = f"skipped: needs ~{need / 1e9:.1f} GB (clex_memory_estimate), {avail / 1e9:.1f} GB available"
        log(f"CLEX-Swift {name}: {reason}")
        return dict(record, status=reason)
    log(f"CLEX-Swift {name}: " + " ".join(argv))
    if os.path.exists(json_out):
        os.remove(json_out)
    busy_before, waited = wait_until_quiet(quiet[0], quiet[1])
    rc, out, err, rss, wall, others = run_timed(argv, env=clex_environment(threads))
    if rc != 0 or not os.path.exists(json_out):
        tail = "\n".join((out + err).strip().splitlines()[-15:])
        log(f"CLEX-Swift {name}: failed (exit {rc}):\n{tail}")
        return dict(record, status=f"failed (exit {rc})")
    with open(json_out) as f:
        report = json.load(f)
    own = report.get("peakResidentBytes")
    log(f"  peak RSS {rss / 1e9:.2f} GB, {wall:.0f} s; other processes took {others:.0%} of the CPUs meanwhile")
    return dict(record, status="ok", wallSeconds=wall, report=report, busyBefore=busy_before,
                waitedSeconds=waited, othersCPUShare=others,
                peakRSSBytes=own if own is not None else rss,
                peakRSSSource="peakResidentBytes" if own is not None else "/usr/bin/time -v",
                timePeakRSSBytes=rss)


def mem_available():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def cpu_busy_seconds():
    """(busy, total) CPU seconds of the whole machine so far, all cores (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(v) - v[3] - v[4]) / hz, sum(v) / hz


def busy_fraction(seconds=3.0):
    b0, t0 = cpu_busy_seconds()
    time.sleep(seconds)
    b1, t1 = cpu_busy_seconds()
    return (b1 - b0) / max(t1 - t0, 1e-9)


def wait_until_quiet(threshold, max_wait):
    """Waits (up to max_wait s) until the machine's CPUs are busy for at most `threshold` of the
    time (other jobs share it); returns (busy fraction, seconds waited)."""
    start = time.time()
    said = 0.0
    while True:
        busy = busy_fraction()
        waited = time.time() - start
        if busy <= threshold:
            return busy, waited
        if waited >= max_wait:
            log(f"  warning: the CPUs are still {busy:.0%} busy after {waited:.0f} s; measuring anyway")
            return busy, waited
        if waited - said >= 60 or said == 0:
            log(f"  waiting for a quiet machine: CPUs {busy:.0%} busy (threshold {threshold:.0%}, "
                f"waited {waited:.0f} of {max_wait:.0f} s)")
            said = waited or 1e-9
        time.sleep(10)


def find_test(run, prompt, gen, depth):
    for t in (run or {}).get("tests", []):
        if t["n_prompt"] == prompt and t["n_gen"] == gen and t["n_depth"] == depth:
            return t
    return None


def nearest(entries, key, want):
    return min(entries, key=lambda e: (abs(e[key] - want), e[key])) if entries else None


def join(shape, type_name, file_bytes, runs, clex, prompt, gen, depth):
    """[(metric, unit, better, llama fa0 cell, llama fa1 cell, clex value, clex note)]."""
    report = clex.get("report") if clex else None
    metrics = []

    def speed(label, p, g, d, clex_value, clex_note):
        cells = []
        for fa in (0, 1):
            t = find_test(runs.get(fa), p, g, d)
            cells.append((t["avg_ts"], t["stddev_ts"]) if t else None)
        metrics.append((label, "tok/s", "higher", cells[0], cells[1], clex_value, clex_note))

    pre = nearest(report.get("prefill", []), "tokens", prompt) if report else None
    speed(f"prefill {prompt} tokens (tok/s)", prompt, 0, 0,
          pre["tokensPerSecond"] if pre else None,
          f"CLEX at {pre['tokens']} tokens" if pre and pre["tokens"] != prompt else "")
    dec = report.get("decode", []) if report else []
    short = nearest(dec, "context", 0)
    speed(f"decode {gen} tokens, empty context (tok/s)", 0, gen, 0,
          short["tokensPerSecond"] if short else None,
          (f"CLEX at context {short['context']}" if short else ""))
    if depth > 0:
        speed(f"prefill {prompt} tokens at depth {depth} (tok/s)", prompt, 0, depth, None, "")
        deep = nearest(dec, "context", depth)
        speed(f"decode {gen} tokens at depth {depth} (tok/s)", 0, gen, depth,
              deep["tokensPerSecond"] if deep else None,
              (f"CLEX at context {deep['context']}" if deep else ""))
    rss = [runs[fa]["peakRSSBytes"] / 1e9 if runs.get(fa) and runs[fa].get("peakRSSBytes") else None
           for fa in (0, 1)]
    clex_rss = clex.get("peakRSSBytes") if clex else None
    metrics.append(("peak RSS (GB)", "GB", "lower", (rss[0], None) if rss[0] else None,
                    (rss[1], None) if rss[1] else None, clex_rss / 1e9 if clex_rss else None,
                    clex.get("peakRSSSource", "") if clex and clex_rss else ""))
    return metrics


def fmt(cell, digits):
    if cell is None:
        return "–"
    value, sd = cell
    return f"{value:.{digits}f}" + (f" ± {sd:.{digits}f}" if sd is not None else "")


def table(shape, type_name, file_bytes, metrics, clex, runs):
    lines = [f"**{shape} {type_name}** ({file_bytes / 1e9:.2f} GB file)", "",
             "| metric | llama.cpp fa off | llama.cpp fa on | CLEX-Swift | ratio |", "|---|---|---|---|---|"]
    notes = []
    for label, unit, better, fa0, fa1, ours, note in metrics:
        digits = 2
        theirs = [c[0] for c in (fa0, fa1) if c]
        best = (max(theirs) if better == "higher" else min(theirs)) if theirs else None
        ratio = f"{ours / best:.2f}×" if ours is not None and best else "–"
        ours_cell = "–" if ours is None else f"{ours:.{digits}f}"
        if note:
            ours_cell += f" ({note})"
        lines.append(f"| {label} | {fmt(fa0, digits)} | {fmt(fa1, digits)} | {ours_cell} | {ratio} |")
    if clex and clex.get("status") != "ok":
        notes.append(f"CLEX-Swift: {clex.get('status')}.")
    shares = [f"{r['othersCPUShare']:.0%}" if r.get("othersCPUShare") is not None else "?" for r in (runs.get(0), runs.get(1)) if r]
    if shares:
        notes.append("Other processes took " + " / ".join(shares) + " of the CPUs during the llama.cpp fa off / on runs"
                     + (f", {clex['othersCPUShare']:.0%} during the CLEX-Swift run" if clex and clex.get("othersCPUShare") is not None else "")
                     + ".")
    return "\n".join(lines + ([""] + notes if notes else []))


def flat_rows(shape, type_name, file_bytes, runs, clex):
    rows = []
    for fa, run in sorted(runs.items()):
        for t in run["tests"]:
            rows.append({"tool": "llama.cpp", "model": run["model"], "shape": shape, "type": type_name,
                         "fileBytes": file_bytes, "threads": run["threads"], "flashAttention": fa,
                         "test": "pp" if t["n_prompt"] > 0 else "tg", "prompt": t["n_prompt"], "gen": t["n_gen"],
                         "depth": t["n_depth"], "tokensPerSecond": t["avg_ts"], "sdTokensPerSecond": t["stddev_ts"],
                         "samplesTokensPerSecond": t.get("samples_ts"), "repetitions": run["repetitions"],
                         "peakRSSBytes": run["peakRSSBytes"]})
    if clex and clex.get("status") == "ok":
        report = clex["report"]
        base = {"tool": "clex", "model": clex["model"], "shape": shape, "type": type_name,
                "fileBytes": file_bytes, "threads": report.get("threads"), "flashAttention": None,
                "peakRSSBytes": clex["peakRSSBytes"]}
        for p in report.get("prefill", []):
            rows.append(dict(base, test="pp", prompt=p["tokens"], gen=0, depth=0,
                             tokensPerSecond=p["tokensPerSecond"], sdTokensPerSecond=None))
        for d in report.get("decode", []):
            rows.append(dict(base, test="tg", prompt=0, gen=d["tokens"], depth=d["context"],
                             tokensPerSecond=d["tokensPerSecond"], sdTokensPerSecond=None,
                             weights=d.get("weights", "F32")))
    return rows


def parse_lengths(items):
    lengths = dict(DEFAULT_LENGTHS)
    for item in items:
        m = re.fullmatch(r"([\w.\-]+)=(\d+),(\d+)", item)
        if not m:
            raise SystemExit(f"bench/peers: --lengths wants SHAPE=PP,TG (e.g. llama2-7b=256,32), not '{item}'")
        lengths[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return lengths


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", required=True, help="the repository root")
    p.add_argument("--llama-bench", required=True)
    p.add_argument("--clex", help="the clex binary (none: no CLEX-Swift column)")
    p.add_argument("--shapes", default="tinyllama-1.1b,llama2-7b",
                   help="comma-separated SHAPE (with --types) or SHAPE:TYPE+TYPE, "
                        "e.g. tinyllama-1.1b:Q4_0+Q4_K_M+Q8_0,llama2-7b:Q4_0")
    p.add_argument("--types", default="Q4_0", help="comma-separated types (default Q4_0)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repetitions", type=int, default=3)
    p.add_argument("--depth", type=int, default=2048)
    p.add_argument("--lengths", action="append", default=[], metavar="SHAPE=PP,TG")
    p.add_argument("--fresh", action="store_true")
    p.add_argument("--quiet", type=float, default=0.25, metavar="FRACTION",
                   help="before each run, wait until the CPUs are busy at most this share of the time (default 0.25)")
    p.add_argument("--max-wait", type=float, default=600, metavar="SECONDS",
                   help="longest wait for a quiet machine before measuring anyway (default 600)")
    p.add_argument("--max-others", type=float, default=0.1, metavar="FRACTION",
                   help="repeat a llama-bench run when other processes took more than this share "
                        "of the CPUs during it (default 0.1)")
    p.add_argument("--attempts", type=int, default=3, help="llama-bench runs at most per command (default 3)")
    a = p.parse_args()

    out_dir = os.path.join(a.root, "cache", "peers")
    raw_dir = os.path.join(out_dir, "shapes")
    os.makedirs(raw_dir, exist_ok=True)
    lengths = parse_lengths(a.lengths)
    quiet = (a.quiet, a.max_wait, a.max_others, a.attempts)
    default_types = [t for t in a.types.split(",") if t]
    plan = []  # [(shape, [types])]: "SHAPE" takes --types, "SHAPE:T+T" its own
    for item in (x for x in a.shapes.split(",") if x):
        shape, _, own = item.partition(":")
        plan.append((shape, [t for t in own.split("+") if t] if own else default_types))
        if shape not in lengths:
            raise SystemExit(f"bench/peers: no default lengths for shape '{shape}' (give --lengths {shape}=PP,TG)")

    tables, rows, llama_runs, clex_runs = [], [], [], []
    for shape, types in plan:
        prompt, gen = lengths[shape]
        for type_name in types:
            model = os.path.join(a.root, "cache", "shapes", f"{shape}-{type_name}.gguf")
            if not os.path.exists(model):
                subprocess.run([os.path.join(a.root, "scripts", "make-shape-gguf"), "--shape", shape,
                                "--type", type_name], check=True)
            file_bytes = os.path.getsize(model)
            runs = {fa: llama_run(a.llama_bench, model, a.threads, fa, a.repetitions, prompt, gen, a.depth,
                                  raw_dir, a.fresh, quiet) for fa in (0, 1)}
            clex = (clex_run(a.clex, model, type_name, a.threads, prompt, gen, a.depth, raw_dir, quiet)
                    if a.clex else None)
            metrics = join(shape, type_name, file_bytes, runs, clex, prompt, gen, a.depth)
            tables.append(table(shape, type_name, file_bytes, metrics, clex, runs))
            rows += flat_rows(shape, type_name, file_bytes, runs, clex)
            llama_runs += runs.values()
            if clex:
                clex_runs.append({k: v for k, v in clex.items()})

    first = next((t for r in llama_runs for t in r["tests"]), {})
    commit = first.get("build_commit", "unknown")
    notes = (f"{a.threads} threads on both sides; llama.cpp "
             + (f"{commit} (build {first.get('build_number')}) " if commit != "unknown" else "")
             + "as vendored in the llama-cpp-python 0.3.36 sdist, GGML_NATIVE=ON, "
             f"`llama-bench` defaults otherwise (n_batch {first.get('n_batch', '?')}, n_ubatch "
             f"{first.get('n_ubatch', '?')}, KV cache {first.get('type_k', '?')}, mmap, repack "
             f"{first.get('repack', '?')}); mean ± sd over {a.repetitions} repetitions; peak RSS from "
             f"/usr/bin/time -v of each whole run. CPU: {first.get('cpu_info', platform.processor())}. "
             "Weights are random (shape GGUFs from scripts/make-shape-gguf, SmolLM2 tokenizer: vocabulary 49152). "
             "Ratio: CLEX-Swift ÷ the better llama.cpp column (faster for speeds, smaller for memory).")
    md = "\n\n".join(tables) + "\n\n" + notes + "\n"
    print("\n" + md)
    with open(os.path.join(out_dir, "shapes.md"), "w") as f:
        f.write(md)
    result = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "machine": platform.node(),
              "cpu": first.get("cpu_info"), "threads": a.threads, "repetitions": a.repetitions,
              "llamaCpp": {"buildCommit": first.get("build_commit"), "buildNumber": first.get("build_number"),
                           "source": "llama-cpp-python==0.3.36 sdist vendor/llama.cpp", "binary": a.llama_bench},
              "rows": rows, "llamaRuns": llama_runs, "clexRuns": clex_runs, "markdown": md}
    with open(os.path.join(out_dir, "shapes.json"), "w") as f:
        json.dump(result, f, indent=2)
    log(f"wrote {os.path.join(out_dir, 'shapes.md')}, {os.path.join(out_dir, 'shapes.json')}")


if __name__ == "__main__":
    main()
