"""Size and time to first paint of `faithlab report` for a large explain run, in headless chromium.

Builds a synthetic explain run folder (no model: hand-made explanations with the shape of a real run) of N texts ×
M methods, renders it with `faithlab.report.run_report.write_report`, then opens the file in chromium through
Playwright with every network request aborted and reads the browser's own paint timings
(`performance.getEntriesByType("paint")`), the time until the first texts are drawn, and the requests seen.

    python benchmarks/bench_report.py --texts 500 --methods 12 --words 24
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

from faithlab.explain.explanation import Explanation
from faithlab.explain.io import append_records, to_record
from faithlab.report.run_report import write_report
from faithlab.report.styles import METHOD_STYLES

VOCAB = [
    "profit", "rose", "sharply", "while", "the", "market", "fell", ",", "shares", "were", "flat", "and", "sales",
    "beat", "the", "forecast", "again", "losses", "widened", "but", "the", "outlook", "improved", "for", "investors",
]
CHROMIUM = "/usr/bin/chromium"


def synthetic_run(folder: Path, n_texts: int, n_methods: int, n_words: int, seed: int = 0) -> None:
    """An explain run folder: n_texts texts of n_words words (every 4th word split into two pieces)."""
    rng = random.Random(seed)
    methods = list(METHOD_STYLES)[:n_methods]
    folder.mkdir(parents=True)
    records = []
    for row in range(n_texts):
        words = [rng.choice(VOCAB) for _ in range(n_words)]
        text = " ".join(words)
        tokens, word_ids, spans, start = ["[CLS]"], [None], [], 0
        for w, word in enumerate(words):
            spans.append((0, start, start + len(word)))
            pieces = [word[:2], "##" + word[2:]] if w % 4 == 0 and len(word) > 2 else [word]
            tokens += pieces
            word_ids += [w] * len(pieces)
            start += len(word) + 1
        tokens.append("[SEP]")
        word_ids.append(None)
        for method in methods:
            e = Explanation(text, None, tokens, np.random.default_rng(row).normal(size=len(tokens)), word_ids, spans,
                            1, "positive", method, {}, [0.3, 0.7], ["negative", "positive"], "synthetic", 0.01,
                            output="logit", replacement="none")
            records.append(to_record(e, {"row": row, "text_hash": str(row), "targets": 1}))
    append_records(records, folder / "explanations.jsonl")


def measure(path: Path, repeats: int) -> dict[str, float]:
    """Median first paint, first contentful paint and time until drawn texts appear (ms), and requests seen."""
    paints, contentful, drawn, requests = [], [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for _ in range(repeats):
            page = browser.new_page()
            seen: list[str] = []
            page.route("**/*", lambda route: route.abort() if not route.request.url.startswith("file:") else
                       route.continue_())
            page.on("request", lambda request, seen=seen: seen.append(request.url))
            start = time.perf_counter()
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_selector(".fl-u")
            drawn.append((time.perf_counter() - start) * 1000)
            entries = {e["name"]: e["startTime"] for e in page.evaluate(
                "performance.getEntriesByType('paint').map(e => ({name: e.name, startTime: e.startTime}))")}
            paints.append(entries.get("first-paint", float("nan")))
            contentful.append(entries.get("first-contentful-paint", float("nan")))
            requests.append(len([u for u in seen if not u.startswith("file:")]))
            page.close()
        browser.close()
    return {"first_paint_ms": statistics.median(paints), "first_contentful_paint_ms": statistics.median(contentful),
            "texts_drawn_ms": statistics.median(drawn), "network_requests": max(requests)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=500)
    parser.add_argument("--methods", type=int, default=12)
    parser.add_argument("--words", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        synthetic_run(run, args.texts, args.methods, args.words)
        start = time.perf_counter()
        page = write_report([run], Path(tmp) / "report.html")
        render_s = time.perf_counter() - start
        result = {"texts": args.texts, "methods": args.methods, "words": args.words,
                  "file_mb": round(page.stat().st_size / 1e6, 2), "render_s": round(render_s, 2),
                  **{k: round(v, 1) for k, v in measure(page, args.repeats).items()}}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
