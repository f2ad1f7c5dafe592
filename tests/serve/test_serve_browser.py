"""The app in a real headless browser (Playwright driving the system chromium): type a sentence, explain it, switch
to word level, open an attention head with its layer average and rollout, the MoRF/LeRF curves, the deletion table
and the run's verdict, take a screenshot."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from faithlab.models import Classifier

sync_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs playwright")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SENTENCE = "a warm and funny film"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM}; install Debian's chromium (.ci/run does)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        yield browser
        browser.close()


def test_explain_word_level_attention_and_deletion_in_a_browser(browser, live_server: str, tmp_path: Path,
                                                                serve_classifier: Classifier):
    tokens = serve_classifier.encode(SENTENCE).tokens[0]  # with [CLS] and [SEP]
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    external: list[str] = []
    page.on("request", lambda request: None if request.url.startswith(live_server) else external.append(request.url))
    page.goto(live_server)
    page.wait_for_selector("body[data-ready=true]", timeout=15_000)

    page.fill("#text", SENTENCE)
    page.click("#run")
    page.wait_for_selector("#heatmap .row[data-method=occlusion] .tok", timeout=15_000)
    assert page.locator("#heatmap .row[data-method=grad_x_input] .tok").count() == len(tokens) - 2
    assert "grad_x_input" in page.locator("#compare-a").inner_text()

    page.check("#level-word")
    words = page.locator("#heatmap .row[data-method=occlusion] .tok").all_inner_texts()
    assert words == SENTENCE.split()
    assert "sum of their tokens" in page.locator("#heatmap").inner_text()

    page.click("#tabs button[data-tab=attention]")
    page.click("#run-attention")
    page.wait_for_selector("#attention-grid canvas[data-layer='1'][data-head='1']", timeout=15_000)
    page.click("#attention-grid canvas[data-layer='1'][data-head='1']")
    # a locator, not wait_for_function: the page's CSP forbids evaluating strings
    sync_api.expect(page.locator("#attention-head h3")).to_contain_text("Layer 1, head 1")
    assert page.locator("#head-matrix tr").count() == 1 + len(tokens)  # a header row, then one row per token
    assert page.locator("#average-matrix tr").count() == 1 + len(tokens)
    assert page.locator("#rollout-matrix tr").count() == 1 + len(tokens)
    top = page.locator("#attention-top tr td:nth-child(2)").all_inner_texts()
    assert top and set(top) <= set(tokens[1:-1])  # no [CLS]/[SEP]

    page.click("#tabs button[data-tab=faithfulness]")
    page.click("#run-faith")
    page.wait_for_selector("#curves-plot polyline", timeout=30_000)
    methods = page.locator("#heatmap .row").count()
    assert page.locator("#curves-plot polyline").count() == 2 * methods  # MoRF and LeRF per method
    labels = page.locator("#curves-table tr td:nth-child(4)").all_inner_texts()
    assert len(labels) == 2 * methods and set(labels) <= {"sharp", "gradual", "flat"}

    page.click("#tabs button[data-tab=deletion]")
    page.click("#run-deletion")
    page.wait_for_selector("#deletion-table tr:nth-child(2)", timeout=15_000)
    units = page.locator("#deletion-table tr td:first-child").all_inner_texts()
    assert units == SENTENCE.split()

    page.click("#tabs button[data-tab=leaderboard]")
    page.wait_for_selector("#verdict .verdict[data-model=tiny-bert]", timeout=15_000)
    assert "leader" in page.locator("#verdict").inner_text()

    screenshot = tmp_path / "deletion.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 1000
    assert page.locator("#status").get_attribute("class") != "error", page.locator("#status").inner_text()
    assert errors == [] and external == []
    page.close()
