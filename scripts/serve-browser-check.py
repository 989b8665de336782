#!/usr/bin/env python3
"""Drives the chat page of `clex serve` in a real headless browser (Debian's chromium through
PyPI's playwright; not in CI): pastes a document, asks two questions, and checks that each
answer streams in and that the second question finds the document in the cache (the page's
cached-token count).

    apt-get install chromium && pip install playwright
    clex serve -m cache/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf --port 8181 &
    python3 scripts/serve-browser-check.py --url http://127.0.0.1:8181/
"""
import argparse
import re
import sys

from playwright.sync_api import sync_playwright

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--url", default="http://127.0.0.1:8080/")
parser.add_argument("--chromium", default="/usr/bin/chromium", help="the browser executable")
args = parser.parse_args()

document = ("The lighthouse of Varn stands on a cliff above the harbour. Its keeper, Ilse Marrow, "
            "lights the lamp at dusk and records every passing ship in a green ledger. ") * 20
failures = 0


def check(name, ok, detail=""):
    global failures
    print(("PASS " if ok else "FAIL ") + name + (f": {detail}" if detail else ""))
    failures += 0 if ok else 1


with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=args.chromium, headless=True, args=["--no-sandbox"])
    page = browser.new_page()
    page.goto(args.url)
    check("the page loads and lists the model", page.locator("#model").inner_text(timeout=10_000) != "…",
          page.locator("#model").inner_text())
    page.fill("#document", document)
    cached = []
    for question in ["Who keeps the lighthouse?", "What colour is the ledger?"]:
        page.fill("#question", question)
        page.click("#send")
        page.wait_for_function("!document.getElementById('send').disabled", timeout=300_000)
        answer = page.locator(".assistant").last.inner_text()
        stats = page.locator("#stats").inner_text()
        check(f"'{question}' is answered", bool(answer) and not answer.startswith("error"), repr(answer[:80]))
        found = re.search(r"cached (\d+)", stats)
        check(f"the page shows the cached-token count", found is not None, stats)
        cached.append(int(found.group(1)) if found else 0)
        print("     " + stats)
        page.evaluate("document.getElementById('stats').textContent = ''")
    check("the second question reads the document from the cache", cached[1] > 300, f"cached tokens {cached}")
    browser.close()

print(f"{failures} failed")
sys.exit(1 if failures else 0)
