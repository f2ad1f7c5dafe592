"""`faithlab report`: any run folder becomes one self-contained page with a strict CSP and escaped user text; in a
real browser (skipped without playwright and chromium) it draws lazily, makes no request and breaks no policy."""

from __future__ import annotations

import json
import re
import shutil
from html import unescape
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from faithlab.cli import app
from faithlab.errors import FaithlabError
from faithlab.report.run_report import method_metric_table, render_report

CHROMIUM = "/usr/bin/chromium"
HOSTILE = "<script>alert(1)</script> profit rose"


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def explain_run(tiny_folders, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("explain") / "run"
    data = out.parent / "texts.csv"
    pd.DataFrame({"text": [HOSTILE, "the market fell sharply", "shares were flat"]}).to_csv(data, index=False)
    result = invoke("explain", "-m", tiny_folders["bert"], "-i", data, "--methods", "occlusion,grad_x_input",
                    "--target", "positive", "--set", "occlusion.output=probability_margin",
                    "--set", "occlusion.contrast=negative", "--set", "occlusion.unit=whitespace",
                    "--evaluate", "curves,comprehensiveness", "--attention-out", out / "attention.npz", "-o", out, "-q")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def train_run(tmp_path) -> Path:
    run = tmp_path / "train"
    run.mkdir()
    (run / "test_metrics.json").write_text(json.dumps({"accuracy": 0.75, "macro_f1": 0.7, "labels": ["a", "b"]}))
    pd.DataFrame({"slice": ["all", "<b>short</b>"], "n": [4, 2], "accuracy": [0.75, 0.5]}).to_csv(
        run / "slice_metrics.csv", index=False)
    return run


def test_the_page_is_self_contained_with_a_strict_policy_and_escaped_text(explain_run, train_run) -> None:
    html = render_report([explain_run, train_run])
    policy = unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1))
    assert policy.startswith("default-src 'none'; script-src 'sha256-")
    assert "unsafe" not in policy and "http" not in policy
    assert "<script>alert" not in html and "\\u003cscript>alert(1)\\u003c/script>" in html
    assert "&lt;b&gt;short&lt;/b&gt;" in html  # table text escaped too
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    for heading in ("Explanations: run", "Faithfulness per method: run", "Training: train", "Accuracy per slice"):
        assert heading in html


def test_bench_tables_shade_by_each_metrics_better_direction() -> None:
    rows = [("a", "comprehensiveness", 0.5, True), ("b", "comprehensiveness", 0.2, True),
            ("a", "sufficiency", 0.5, False), ("b", "sufficiency", 0.2, False)]
    group = pd.DataFrame([{"method": m, "metric": k, "mean": v, "low": v - 0.1, "high": v + 0.1,
                           "higher_is_better": h} for m, k, v, h in rows])
    html = str(method_metric_table(group))
    assert '<td class="better-3">0.500 [0.400, 0.600]</td><td class="better-2">' in html  # method a's row
    assert "comprehensiveness ↑" in html and "sufficiency ↓" in html


def test_a_folder_that_is_no_run_is_one_clear_error(tmp_path) -> None:
    with pytest.raises(FaithlabError, match="not a faithlab run folder"):
        render_report([tmp_path])
    result = invoke("report", tmp_path / "missing", "-o", tmp_path / "r.html")
    assert result.exit_code == 2 and "does not exist" in result.output


def _browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"no chromium at {CHROMIUM}")
    return sync_api


def test_the_report_opens_offline_with_zero_requests_and_draws_lazily(explain_run, tmp_path) -> None:
    sync_api = _browser()
    path = tmp_path / "report.html"
    assert invoke("report", explain_run, "-o", path).exit_code == 0
    requests, errors, dialogs = [], [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.route("**/*", lambda route: route.abort())
        page.on("request", lambda request: requests.append(request.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("dialog", lambda d: dialogs.append(d) or d.dismiss())
        page.set_content(path.read_text(encoding="utf-8"), wait_until="load")
        page.wait_for_selector(".fl-u")
        first = page.locator(".fl-text").first
        assert first.locator(".fl-input").inner_text() == HOSTILE  # shown as text, never run
        tokens = first.locator(".fl-u").count()
        page.select_option("#fl-level", "word")
        assert first.locator(".fl-u").count() < tokens
        assert "merged by sum" in page.locator("#fl-state").inner_text()
        first.locator("details summary").first.click()
        assert first.locator(".fl-table tr").count() > 1
        browser.close()
    assert requests == [] and errors == [] and dialogs == []


def test_a_bench_run_shows_its_recommendation_tables_and_embedded_figures(tmp_path) -> None:
    from faithlab.bench.summary import write_summary

    results = pd.DataFrame([
        {"model": "m", "dataset": "d", "metric": metric, "variant": "", "method": method, "example": e,
         "value": value + 0.01 * e, "seconds": 0.01}
        for metric in ("comprehensiveness", "sufficiency") for method, value in (("ig", 0.6), ("random", 0.1))
        for e in range(4)
    ])
    write_summary(results, tmp_path / "bench", {"m": {"family": "bert", "size": "xs"}}, resamples=20)
    html = render_report([tmp_path / "bench"])
    assert "Benchmark: bench" in html and "<h3>m on d</h3>" in html
    assert "Recommended for <b>m</b>" in html
    images = re.findall(r'src="data:image/png;base64,', html)
    assert len(images) == len(list((tmp_path / "bench" / "plots").glob("*.png"))) > 0
