"""Fixtures of the web app tests: the app over the tiny BERT classifier, a small bench run folder, a live server."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve tests need the serve extra (fastapi, uvicorn)")
pytest.importorskip("uvicorn", reason="the serve tests need the serve extra (fastapi, uvicorn)")

import uvicorn
from fastapi.testclient import TestClient

from faithlab.bench.config import BenchConfig
from faithlab.bench.store import ResultStore
from faithlab.evaluate.verdict import build_verdict, verdicts_json
from faithlab.models import Classifier
from faithlab.serve.app import create_app

# per (method, metric): the values of examples 0, 1, 2 — grad_x_input leads on comprehensiveness (higher is
# better), random on sufficiency (lower is better)
RUN_VALUES = {
    ("grad_x_input", "comprehensiveness"): [0.4, 0.3, 0.2],
    ("random", "comprehensiveness"): [0.1, 0.0, 0.2],
    ("grad_x_input", "sufficiency"): [0.3, 0.2, 0.4],
    ("random", "sufficiency"): [0.1, 0.1, 0.1],
}


@pytest.fixture(scope="session")
def bench_run(tmp_path_factory: pytest.TempPathFactory, tiny_folders: dict[str, Path]) -> Path:
    """A bench run folder as `faithlab bench` leaves it: config.json, results.sqlite, the exported CSV and
    verdict.json (built from the results, as the bench summary builds it)."""
    folder = tmp_path_factory.mktemp("bench-run")
    config = BenchConfig.model_validate({
        "models": [{"name": "tiny-bert", "path": str(tiny_folders["bert"])}],
        "datasets": [{"name": "planted", "kind": "planted", "path": "builtin", "n": 3}],
        "methods": ["grad_x_input", {"lime": {"n_samples": 20}}, "random"],
    })
    (folder / "config.json").write_text(json.dumps(config.model_dump()))
    with ResultStore(folder / "results.sqlite") as store:
        rows = [
            {"method": method, "metric": metric, "example": example, "value": value}
            for (method, metric), values in RUN_VALUES.items()
            for example, value in enumerate(values)
        ]
        store.write_unit("tiny-bert", "planted", "all", rows, seconds=1.0)
        store.export(folder)
        frame = store.frame()
    (folder / "verdict.json").write_text(verdicts_json(build_verdict(frame, resamples=200)))
    return folder


@pytest.fixture(scope="session")
def serve_classifier(tiny_classifiers: dict[str, Classifier]) -> Classifier:
    return tiny_classifiers["bert"]


@pytest.fixture
def client(serve_classifier: Classifier, bench_run: Path) -> Iterator[TestClient]:
    """A fresh app (empty cache) with the bench run open; server errors come back as responses, as in production."""
    with TestClient(create_app(serve_classifier, run=bench_run), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def live_server(serve_classifier: Classifier, bench_run: Path) -> Iterator[str]:
    """The app under uvicorn on a free loopback port, in a background thread; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(serve_classifier, run=bench_run), host="127.0.0.1", port=port,
                            log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start within 20 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
