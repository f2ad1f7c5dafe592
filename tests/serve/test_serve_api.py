"""The web app's JSON API: every endpoint, its limits, the cache, the single worker, and failures that leave it
serving. The numbers it shows must be the library's own."""

from __future__ import annotations

import asyncio
import io
import itertools
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from faithlab import api as fl
from faithlab.attention_export import attention_maps
from faithlab.bench.config import BenchConfig
from faithlab.bench.runner import load_examples
from faithlab.cli import app as cli_app
from faithlab.errors import FaithlabError
from faithlab.evaluate.verdict import read_verdicts, verdict_markdown
from faithlab.explain.explanation import Explanation
from faithlab.models import Classifier
from faithlab.report import (
    attention_totals,
    deletion_table,
    explanation_grid,
    layer_average,
    method_style,
    rollout_matrix,
    top_attention,
)
from faithlab.serve.app import create_app
from faithlab.serve.schemas import Limits
from faithlab.serve.service import edit_word, trusted_method
from faithlab.serve.worker import Worker

TEXT = "the movie was great and fun to watch"
METHODS = {"grad_x_input": {}, "occlusion": {"unit": "word"}}


def test_info_lists_the_model_methods_settings_and_views(client: TestClient, serve_classifier: Classifier):
    info = client.get("/api/info").json()
    assert info["labels"] == serve_classifier.labels
    assert info["fingerprint"] == serve_classifier.fingerprint
    assert {"n_steps", "baseline", "output"} <= set(info["methods"]["ig"]["settings"]["properties"])
    assert info["views"] == ["tokens", "words"]


def test_explain_shows_the_librarys_scores_at_token_and_word_level(client: TestClient, serve_classifier: Classifier):
    response = client.post("/api/explain", json={"text": TEXT, "methods": METHODS})
    assert response.status_code == 200
    body = response.json()
    direct = fl.explain(serve_classifier, TEXT, METHODS)
    assert [e["method"] for e in body["explanations"]] == list(METHODS)
    for shown in body["explanations"]:
        e = direct[shown["method"]][0]
        tokens = [cell["score"] for cell in shown["views"]["tokens"]]
        words = [cell["score"] for cell in shown["views"]["words"]]
        np.testing.assert_allclose(tokens, e.scores[e.content], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(words, e.word_scores("sum"), rtol=1e-6, atol=1e-9)
        assert [cell["text"] for cell in shown["views"]["words"]] == TEXT.split()
        assert "explains:" in shown["conventions"]
    predicted = int(np.argmax(direct["grad_x_input"][0].probabilities))
    assert body["prediction"]["label"] == serve_classifier.labels[predicted]


def test_show_special_adds_the_special_tokens_to_the_token_view(client: TestClient):
    hidden = client.post("/api/explain", json={"text": TEXT, "methods": {"grad_x_input": {}}}).json()
    shown = client.post("/api/explain?show_special=true", json={"text": TEXT, "methods": {"grad_x_input": {}}}).json()
    cells = shown["explanations"][0]["views"]["tokens"]
    assert [c["text"] for c in cells if c["special"]] == ["[CLS]", "[SEP]"]
    assert len(cells) == len(hidden["explanations"][0]["views"]["tokens"]) + 2


def test_a_repeated_request_is_answered_from_the_cache(client: TestClient):
    first = client.post("/api/explain", json={"text": TEXT, "methods": METHODS}).json()
    again = client.post("/api/explain", json={"text": TEXT, "methods": METHODS}).json()
    assert first["cached"] == [] and again["cached"] == list(METHODS)
    assert again["explanations"] == first["explanations"]
    other = client.post("/api/explain", json={"text": TEXT, "methods": {"occlusion": {"unit": "token"}}}).json()
    assert other["cached"] == []  # other settings, another entry
    assert client.get("/api/info").json()["cache"]["hits"] == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"text": "x " * 600}, "the limit is 1000"),
        ({"text": TEXT, "methods": {m: {} for m in ("gradient", "grad_x_input", "ig", "lime", "occlusion", "lrp",
                                                    "random")}}, "7 methods"),
        ({"text": TEXT, "methods": {"lime": {"n_samples": 5000}}}, "lime.n_samples=5000"),
        ({"text": TEXT, "methods": {"ensemble": {"member_settings": {"kernel_shap": {"n_samples": 9999}}}}},
         "kernel_shap.n_samples=9999"),
        ({"text": TEXT, "methods": {"shapley": {}}}, "unknown method 'shapley'"),
        ({"text": TEXT, "methods": {"ig": {"baseline": "noise"}}}, "baseline"),
        ({"text": TEXT, "methods": {}}, "at least one method"),
        ({"text": 3}, "body.text"),
        ({"text": TEXT, "methods": {"grad_x_input": {}}, "target": "joy"}, "joy"),
    ],
)
def test_bad_requests_answer_4xx_with_a_message(client: TestClient, body: dict, message: str):
    response = client.post("/api/explain", json=body)
    assert response.status_code == 422
    assert message in response.json()["error"]


def test_a_failing_request_leaves_the_server_serving(serve_classifier: Classifier):
    class Failing(Classifier):
        def encode(self, texts, pairs=None, **options):
            if "boom" in str(texts):
                raise RuntimeError("the model broke")
            return super().encode(texts, pairs, **options)

    base = serve_classifier
    flaky = Failing(base.model, base.tokenizer, base.name, fingerprint=base.fingerprint)
    with TestClient(create_app(flaky), raise_server_exceptions=False) as client:
        failed = client.post("/api/explain", json={"text": "boom goes the film"})
        assert failed.status_code == 500
        assert "the model broke" in failed.json()["error"]
        assert client.post("/api/explain", json={"text": TEXT}).status_code == 200


def test_a_full_queue_answers_429(serve_classifier: Classifier):
    with TestClient(create_app(serve_classifier, limits=Limits(max_queue=0))) as client:
        response = client.post("/api/explain", json={"text": TEXT})
    assert response.status_code == 429
    assert "waiting" in response.json()["error"]


def test_the_worker_runs_one_job_at_a_time_on_one_thread():
    worker = Worker(max_queue=16)
    spans: list[tuple[float, float, str]] = []

    def job() -> None:
        start = time.perf_counter()
        time.sleep(0.01)
        spans.append((start, time.perf_counter(), threading.current_thread().name))

    async def many() -> None:
        await asyncio.gather(*(worker.run(job) for _ in range(6)))

    asyncio.run(many())
    worker.shutdown()
    spans.sort()
    assert len({name for *_, name in spans}) == 1
    assert all(end <= next_start for (_, end, _), (next_start, _, _) in itertools.pairwise(spans))


def test_faithfulness_reports_the_librarys_metrics_and_trusts_the_best_ranked(client: TestClient,
                                                                             serve_classifier: Classifier):
    methods = {"grad_x_input": {}, "occlusion": {}, "random": {}}
    body = client.post("/api/faithfulness", json={"text": TEXT, "methods": methods}).json()
    direct = fl.evaluate(serve_classifier, fl.explain(serve_classifier, TEXT, methods),
                         metrics=["comprehensiveness", "sufficiency", "loo_spearman"])
    for row in direct.itertuples():
        assert body["metrics"][row.method][row.metric] == pytest.approx(row.value, abs=1e-9)
    assert body["better"] == {"comprehensiveness": "higher", "sufficiency": "lower", "loo_spearman": "higher"}
    eligible = [m for m, beats in body["beats_random"].items() if beats]
    if eligible:
        assert body["trusted"] in eligible
        assert body["average_rank"][body["trusted"]] == min(body["average_rank"][m] for m in eligible)
    else:
        assert body["trusted"] is None


def test_trust_rule_needs_a_method_to_beat_random_on_every_metric():
    values = {
        "a": {"comprehensiveness": 0.5, "sufficiency": 0.1, "loo_spearman": 0.9},
        "b": {"comprehensiveness": 0.6, "sufficiency": 0.3, "loo_spearman": None},
        "random": {"comprehensiveness": 0.2, "sufficiency": 0.2, "loo_spearman": 0.0},
    }
    verdict = trusted_method(values)
    assert verdict["ranks"]["b"] == {"comprehensiveness": 1, "sufficiency": 2, "loo_spearman": 2}
    assert verdict["beats_random"] == {"a": True, "b": False}
    assert verdict["trusted"] == "a"
    values["a"]["sufficiency"] = 0.5
    assert trusted_method(values)["trusted"] is None


def test_attention_gives_each_head_a_row_stochastic_matrix(client: TestClient, serve_classifier: Classifier):
    body = client.post("/api/attention", json={"text": TEXT, "layer": 1, "head": 1}).json()
    n = len(body["tokens"])
    assert body["tokens"] == serve_classifier.encode(TEXT).tokens[0]
    assert (body["layers"], body["heads"]) == (2, 2)
    assert np.array(body["matrix"]).shape == (n, n)
    np.testing.assert_allclose(np.array(body["matrix"]).sum(axis=1), 1.0, atol=5e-3)
    assert np.array(body["grid"]).shape == (2, 2, n, n)
    assert body["grid"][1][1] == body["matrix"]
    wrong = client.post("/api/attention", json={"text": TEXT, "layer": 5})
    assert wrong.status_code == 422 and "layers 0..1" in wrong.json()["error"]


def test_deletion_table_deletes_each_whitespace_word(client: TestClient, serve_classifier: Classifier):
    text = "pre-tax profit rose 0.8 percent."
    body = client.post("/api/deletion", json={"text": text, "output": "probability_margin"}).json()
    assert [row["unit"] for row in body["rows"]] == text.split()
    probabilities = serve_classifier.predict(text)[0]
    target = int(np.argmax(probabilities))
    other = serve_classifier.labels.index(body["contrast"])
    for row in body["rows"]:
        assert row["output_before"] == pytest.approx(probabilities[target] - probabilities[other], abs=1e-5)
        assert row["difference"] == pytest.approx(row["output_before"] - row["output_after"], abs=1e-9)
        assert sum(row["probabilities_after"].values()) == pytest.approx(1.0)
    csv = client.post("/api/deletion?format=csv", json={"text": text})
    table = pd.read_csv(io.StringIO(csv.text))
    assert list(table["unit"]) == text.split()
    assert {f"p_after({label})" for label in serve_classifier.labels} <= set(table.columns)


def test_edit_word_deletes_or_replaces_one_whitespace_word():
    assert edit_word("a  warm, funny film", 1, None) == "a funny film"
    assert edit_word("a warm film", 0, None) == "warm film"
    assert edit_word("a warm film", 1, "cold") == "a cold film"
    with pytest.raises(FaithlabError, match=r"words 0\.\.2"):
        edit_word("a warm film", 3, None)
    with pytest.raises(FaithlabError, match="empty text"):
        edit_word("film", 0, None)


def test_edit_explains_the_original_and_the_edited_text(client: TestClient, serve_classifier: Classifier):
    client.post("/api/explain", json={"text": TEXT, "methods": METHODS})
    body = client.post("/api/edit", json={"text": TEXT, "methods": METHODS, "word": 3, "replacement": "dull"}).json()
    assert body["original"]["cached"] == list(METHODS)
    assert body["edited"]["text"] == "the movie was dull and fun to watch"
    expected = serve_classifier.predict(body["edited"]["text"])[0]
    shown = body["edited"]["prediction"]["probabilities"]
    np.testing.assert_allclose([shown[label] for label in serve_classifier.labels], expected, atol=1e-6)


def test_downloads_round_trip_the_explanations(client: TestClient):
    response = client.post("/api/explain/download?format=json", json={"text": TEXT, "methods": METHODS})
    assert 'filename="explanations.json"' in response.headers["content-disposition"]
    explanations = [Explanation.from_dict(d) for d in response.json()]
    shown = client.post("/api/explain", json={"text": TEXT, "methods": METHODS}).json()["explanations"]
    for e, view in zip(explanations, shown, strict=True):
        np.testing.assert_allclose(e.scores[e.content], [c["score"] for c in view["views"]["tokens"]])
    page = client.post("/api/explain/download?format=html", json={"text": "<b>bold</b> claim"}).text
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page


def test_leaderboard_filters_and_orders_by_each_metrics_direction(client: TestClient):
    rows = client.get("/api/run/leaderboard").json()["rows"]
    order = {metric: [r["method"] for r in rows if r["metric"] == metric] for metric in ("comprehensiveness",
                                                                                         "sufficiency")}
    assert order == {"comprehensiveness": ["grad_x_input", "random"], "sufficiency": ["random", "grad_x_input"]}
    first = next(r for r in rows if r["metric"] == "comprehensiveness")
    assert first["mean"] == pytest.approx(0.3) and first["n"] == 3
    only = client.get("/api/run/leaderboard", params={"method": "random", "metric": "sufficiency"}).json()["rows"]
    assert [(r["method"], r["metric"]) for r in only] == [("random", "sufficiency")]
    assert client.get("/api/run/filters").json()["method"] == ["grad_x_input", "random"]
    unknown = client.get("/api/run/leaderboard", params={"model": "gpt-9"})
    assert unknown.status_code == 422 and "tiny-bert" in unknown.json()["error"]
    csv = pd.read_csv(io.StringIO(client.get("/api/run/leaderboard", params={"format": "csv"}).text))
    assert len(csv) == 4


def test_run_examples_click_through_to_the_examples_text(client: TestClient, bench_run: Path):
    values = client.get("/api/run/examples", params={"model": "tiny-bert", "dataset": "planted",
                                                     "method": "random", "metric": "comprehensiveness"}).json()
    assert [r["value"] for r in values["rows"]] == [0.1, 0.0, 0.2]
    example = client.get("/api/run/example", params={"dataset": "planted", "example": 2}).json()
    config = BenchConfig.model_validate({
        "models": [{"name": "m", "path": "."}], "datasets": [{"name": "planted", "kind": "planted",
                                                              "path": "builtin", "n": 3}],
    })
    assert example["text"] == load_examples(config.datasets[0], config).examples[2].text
    assert client.get("/api/run/example", params={"dataset": "planted", "example": 7}).status_code == 422


def test_run_endpoints_without_a_run_folder_answer_404(serve_classifier: Classifier):
    with TestClient(create_app(serve_classifier)) as client:
        response = client.get("/api/run/leaderboard")
    assert response.status_code == 404 and "--run" in response.json()["error"]


def test_the_page_and_its_assets_are_served_with_a_strict_policy(client: TestClient):
    page = client.get("/")
    assert page.status_code == 200 and '<script src="/static/app.js"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http" not in page.text.replace("http-equiv", "")  # no external URL in the page
    assert client.get("/static/app.js").status_code == 200
    assert set(client.get("/openapi.json").json()["paths"]) >= {"/api/explain", "/api/attention", "/api/deletion"}
    assert client.get("/docs").status_code == 404  # FastAPI's docs page would load its scripts from a CDN


def test_serve_command_needs_a_model():
    result = CliRunner().invoke(cli_app, ["serve"])
    assert result.exit_code == 2
    assert "--model" in result.output


def test_word_view_is_the_reports_grid_with_the_chosen_merge_and_scale(client: TestClient,
                                                                        serve_classifier: Classifier):
    body = client.post("/api/explain?aggregation=absmax&scale=shared", json={"text": TEXT, "methods": METHODS}).json()
    result = fl.explain(serve_classifier, TEXT, METHODS)
    grid = explanation_grid([result[m][0] for m in METHODS], level="word", aggregation="absmax", scale="shared")
    assert body["aggregation"] == "absmax" and body["scale"] == "shared"
    assert body["legends"]["words"].startswith("units: words (tokenizer word ids, merged by absmax of their tokens)")
    assert "one scale shared by every row" in body["legends"]["words"]
    for shown, row in zip(body["explanations"], grid.rows, strict=True):
        np.testing.assert_allclose([c["score"] for c in shown["views"]["words"]], [u.score for u in row.units],
                                   rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose([c["scaled"] for c in shown["views"]["words"]], [u.scaled for u in row.units],
                                   rtol=1e-6, atol=1e-9)
        assert shown["style"]["color"] == method_style(shown["method"]).color
    largest = max(abs(c["score"]) for e in body["explanations"] for c in e["views"]["words"])
    assert max(abs(c["scaled"]) for e in body["explanations"] for c in e["views"]["words"]) == pytest.approx(1.0)
    assert all(e["full_colour"]["words"] == pytest.approx(largest) for e in body["explanations"])
    wrong = client.post("/api/explain?aggregation=median", json={"text": TEXT})
    assert wrong.status_code == 422 and "aggregation" in wrong.json()["error"]


def test_attention_average_rollout_and_top_tokens_are_the_reports(client: TestClient, serve_classifier: Classifier):
    text = "the film , the film !"
    body = client.post("/api/attention", json={"text": text, "layer": 1, "head": 0, "top_k": 3}).json()
    maps = attention_maps(serve_classifier, [text])[0]
    np.testing.assert_allclose(body["average"], layer_average(maps)[1], atol=5e-4)
    np.testing.assert_allclose(body["rollout"], rollout_matrix(maps), atol=5e-4)
    np.testing.assert_allclose(np.array(body["rollout"]).sum(axis=1), 1.0, atol=5e-3)
    top = top_attention(attention_totals(maps), 3)
    assert [r["position"] for r in body["top"]] == list(top["position"])
    assert {r["token"] for r in body["top"]} <= {"the", "film"}  # no [CLS]/[SEP], no punctuation
    assert len(body["top"]) == 3


def test_deletion_rows_are_the_reports_deletion_table(client: TestClient, serve_classifier: Classifier):
    text = "pre-tax profit rose 0.8 percent."
    label = serve_classifier.labels[0]
    body = client.post("/api/deletion", json={"text": text, "output": "margin", "contrast": label,
                                              "target": serve_classifier.labels[1]}).json()
    settings = {"output": "margin", "unit": "whitespace", "replacement": "delete", "contrast": label}
    e = fl.explain(serve_classifier, text, {"occlusion": settings}, target=serve_classifier.labels[1])["occlusion"][0]
    table = deletion_table([e])
    assert body["quantity"] == table.quantity and "fixed contrast" in body["quantity"]
    assert [r["unit"] for r in body["rows"]] == list(table.frame["word"])
    np.testing.assert_allclose([r["difference"] for r in body["rows"]], table.frame["difference"], atol=1e-9)
    np.testing.assert_allclose([r["output_after"] for r in body["rows"]], table.frame["output_after"], atol=1e-9)
    assert [r["predicted_after"] for r in body["rows"]] == list(table.frame["predicted_after"])


def test_faithfulness_adds_each_methods_morf_and_lerf_curve_with_its_label(client: TestClient):
    body = client.post("/api/faithfulness", json={"text": TEXT, "methods": METHODS}).json()
    curves = body["curves"]["rows"]
    assert sorted((c["method"], c["curve"]) for c in curves) == sorted(
        (m, c) for m in METHODS for c in ("morf", "lerf"))
    for c in curves:
        assert c["label"] in ("sharp", "gradual", "flat")
        assert c["x"][0] == 0.0 and len(c["x"]) == len(c["confidence"]) > 1
        assert all(0.0 <= y <= 1.0 for y in c["confidence"])
    assert "sharp" in body["curves"]["rule"]


def test_run_verdict_shows_the_leader_top_set_and_evidence(client: TestClient, bench_run: Path):
    assert client.get("/api/info").json()["verdict"] is True
    verdicts = client.get("/api/run/verdict").json()["verdicts"]
    expected = read_verdicts((bench_run / "verdict.json").read_text())[("tiny-bert", "planted")]
    (shown,) = verdicts
    assert (shown["model"], shown["dataset"]) == ("tiny-bert", "planted")
    assert shown["leader"] == expected.leader and shown["best"] == expected.best
    assert {e["metric"] for e in shown["evidence"]} == {"comprehensiveness", "sufficiency"}
    assert shown["summary"] == expected.summary and expected.summary
    assert shown["markdown"] == verdict_markdown(expected)
    assert client.get("/api/run/verdict", params={"model": "other"}).json()["verdicts"] == []


def test_run_verdict_without_verdict_json_answers_4xx(serve_classifier: Classifier, tmp_path: Path, bench_run: Path):
    for name in ("config.json", "results.csv"):
        (tmp_path / name).write_text((bench_run / name).read_text())
    with TestClient(create_app(serve_classifier, run=tmp_path), raise_server_exceptions=False) as other:
        assert other.get("/api/info").json()["verdict"] is False
        answer = other.get("/api/run/verdict")
        assert answer.status_code == 422 and "verdict.json" in answer.json()["error"]
