"""Bounded load test of `faithlab serve` on loopback: many concurrent clients, a fixed number of requests.

Starts the app under uvicorn in this process (127.0.0.1, a free port), then 50 client threads share 200 requests
(stdlib `http.client`, one keep-alive connection per client) and the run stops by itself. The mix: half explain
requests (grad_x_input + occlusion) over 25 sentences, so most repeats are cache hits; a quarter attention requests
(computed every time); a quarter `GET /api/info`. Every model computation goes through the app's single worker,
so the latencies show queueing, not parallel model passes.

    PYTHONPATH=src HF_HUB_OFFLINE=1 python benchmarks/bench_serve.py                  # tiny BERT built offline
    PYTHONPATH=src HF_HUB_OFFLINE=1 python benchmarks/bench_serve.py --model minilm   # a real encoder

Writes the table to benchmarks/RESULTS-serve.md (with the command and the machine) unless --no-write.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import queue
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import uvicorn

from faithlab.models import Classifier, load_classifier
from faithlab.models.zoo import Size, build_classifier_folder
from faithlab.serve.app import create_app

SENTENCES = [
    f"{subject} was {quality} and {extra}"
    for subject in ("the movie", "the plot", "the acting", "the music", "the ending")
    for quality, extra in (("great", "fun to watch"), ("dull", "far too long"), ("clever", "well paced"),
                           ("terrible", "badly written"), ("fine", "nothing special"))
]
TINY = Size(layers=2, hidden=32, heads=2, vocab=200)
RESULTS = Path(__file__).parent / "RESULTS-serve.md"


def request_plan(total: int) -> list[tuple[str, str, dict | None]]:
    """`total` requests (method, path, body) in a fixed interleaved order."""
    plan = []
    for i in range(total):
        text = SENTENCES[i % len(SENTENCES)]
        if i % 4 in (0, 1):
            plan.append(("POST", "/api/explain", {"text": text, "methods": {"grad_x_input": {}, "occlusion": {}}}))
        elif i % 4 == 2:
            plan.append(("POST", "/api/attention", {"text": text, "layer": 0, "head": 0}))
        else:
            plan.append(("GET", "/api/info", None))
    return plan


def client(port: int, jobs: queue.Queue, results: list[tuple[str, float, int]]) -> None:
    """Take requests until none is left; record (path, seconds, status) — status 0 for a failed connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    while True:
        try:
            method, path, body = jobs.get_nowait()
        except queue.Empty:
            break
        start = time.perf_counter()
        try:
            payload = None if body is None else json.dumps(body)
            connection.request(method, path, body=payload, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            status = response.status
        except OSError:
            status = 0
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        results.append((path, time.perf_counter() - start, status))
    connection.close()


def serve(classifier: Classifier) -> tuple[uvicorn.Server, int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(classifier), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, port


def run(classifier: Classifier, clients: int, total: int) -> tuple[list[tuple[str, float, int]], float]:
    server, port = serve(classifier)
    jobs: queue.Queue = queue.Queue()
    for item in request_plan(total):
        jobs.put(item)
    results: list[tuple[str, float, int]] = []
    threads = [threading.Thread(target=client, args=(port, jobs, results)) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    server.should_exit = True
    return results, wall


def table(results: list[tuple[str, float, int]], wall: float) -> str:
    lines = ["| requests | count | errors | p50 (ms) | p95 (ms) | max (ms) |", "|---|---|---|---|---|---|"]
    groups = {"all": results} | {path: [r for r in results if r[0] == path] for path in sorted({r[0] for r in results})}
    for name, rows in groups.items():
        seconds = np.array([r[1] for r in rows]) * 1000
        errors = sum(not 200 <= r[2] < 300 for r in rows)
        lines.append(f"| {name} | {len(rows)} | {errors} | {np.percentile(seconds, 50):.0f} | "
                     f"{np.percentile(seconds, 95):.0f} | {seconds.max():.0f} |")
    lines.append(f"\nwall time {wall:.2f} s, {len(results) / wall:.1f} requests/s")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="model folder or alias (default: a tiny BERT built offline)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.model or build_classifier_folder("bert", SENTENCES * 4, Path(tmp) / "tiny", size=TINY,
                                                       vocab_size=TINY.vocab, seed=1)
        classifier = load_classifier(folder)
        results, wall = run(classifier, args.clients, args.requests)
    report = table(results, wall)
    print(report)
    if not args.no_write:
        command = "PYTHONPATH=src HF_HUB_OFFLINE=1 python benchmarks/bench_serve.py " + " ".join(sys.argv[1:])
        RESULTS.write_text(
            "# faithlab serve: bounded load test on loopback\n\n"
            f"Command: `{command.strip()}`\n\n"
            f"Model: {args.model or 'tiny BERT (2 layers, hidden 32, built offline)'}; "
            f"{args.clients} concurrent clients, "
            f"{args.requests} requests (half explain with grad_x_input + occlusion over {len(SENTENCES)} sentences, "
            "a quarter attention, a quarter GET /api/info); one worker thread for every model computation.\n\n"
            f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}; the "
            "machine was shared with other jobs while this ran (timings under load).\n\n" + report + "\n"
        )


if __name__ == "__main__":
    main()
