"""Screenshots of the `faithlab serve` views for the docs (PNG, one per view, into this folder).

Starts the app on loopback, drives the system chromium with Playwright through each view and photographs it:

    PYTHONPATH=src HF_HUB_OFFLINE=1 python docs/img/serve_screenshots.py [--model FOLDER] [--run BENCH_DIR]

Without --model a tiny BERT is built offline (random weights: the pictures show the views, not a finding); the
leaderboard (and the verdict, where the run folder holds verdict.json) is photographed only with --run.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import Page, expect, sync_playwright

from faithlab.models import load_classifier
from faithlab.models.zoo import Size, build_classifier_folder
from faithlab.serve.app import create_app

HERE = Path(__file__).parent
SENTENCE = "the acting was clever but the ending was far too long"
CORPUS = [SENTENCE, "the movie was great and fun to watch", "a dull , boring film that is not good"] * 20
TINY = Size(layers=2, hidden=32, heads=2, vocab=200)


def start(model: str | Path, run: Path | None) -> tuple[uvicorn.Server, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(load_classifier(model), run=run)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def shoot(page: Page, selector: str, name: str) -> None:
    page.locator(selector).screenshot(path=str(HERE / name))
    print(HERE / name)


def tour(page: Page, url: str, with_run: bool) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#text", SENTENCE)
    for method in ("ig", "lime", "lrp"):
        page.check(f"#method-{method}")
    shoot(page, "#input-panel", "serve-input.png")
    page.click("#run")
    page.wait_for_selector("#heatmap .row[data-method=lrp] .tok", timeout=120_000)
    shoot(page, "#tab-explain", "serve-explain-tokens.png")
    page.check("#level-word")
    shoot(page, "#tab-explain", "serve-explain-words.png")
    page.click("#tabs button[data-tab=faithfulness]")
    page.click("#run-faith")
    page.wait_for_selector("#faith-result table", timeout=120_000)
    page.wait_for_selector("#curves-plot polyline", timeout=120_000)
    shoot(page, "#faith-result", "serve-faithfulness.png")
    shoot(page, "#curves", "serve-curves.png")
    page.click("#tabs button[data-tab=attention]")
    page.click("#run-attention")
    page.wait_for_selector("#attention-grid canvas", timeout=120_000)
    page.click("#attention-grid canvas[data-layer='1'][data-head='0']")
    expect(page.locator("#attention-head h3")).to_contain_text("Layer 1, head 0", timeout=120_000)
    shoot(page, "#attention-head", "serve-attention.png")
    shoot(page, "#attention-summary", "serve-attention-rollout.png")
    page.click("#tabs button[data-tab=deletion]")
    page.click("#run-deletion")
    page.wait_for_selector("#deletion-table", timeout=120_000)
    shoot(page, "#tab-deletion", "serve-deletion.png")
    page.click("#tabs button[data-tab=edit]")
    page.click("#edit-words button[data-word='3']")
    page.fill("#edit-replacement", "dull")
    page.click("#edit-replace")
    page.wait_for_selector("#edit-result .heatmap .tok", timeout=120_000)
    shoot(page, "#tab-edit", "serve-edit.png")
    if with_run:
        page.click("#tabs button[data-tab=leaderboard]")
        page.wait_for_selector("#leaderboard-table", timeout=120_000)
        # one model and metric keeps the picture readable (and small) on a run with many
        for name in ("model", "metric"):
            with page.expect_response(lambda r: "/api/run/leaderboard" in r.url):
                page.select_option(f"#filter-{name}", index=len(page.locator(f"#filter-{name} option").all()) - 1)
        shoot(page, "#leaderboard", "serve-leaderboard.png")
        if page.locator("#verdict .verdict").count():
            shoot(page, "#verdict", "serve-verdict.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model")
    parser.add_argument("--run", type=Path)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or build_classifier_folder("bert", CORPUS, Path(tmp) / "tiny", size=TINY,
                                                      vocab_size=TINY.vocab, seed=1)
        server, url = start(model, args.run)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            tour(page, url, args.run is not None)
            browser.close()
        server.should_exit = True


if __name__ == "__main__":
    main()
