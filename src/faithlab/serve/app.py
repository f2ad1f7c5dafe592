"""The FastAPI app: the page, its assets and a JSON API over one classifier (and optionally one bench run folder).

Every model computation goes through the single `Worker`; bad input (a `FaithlabError`, a limit, a malformed body)
answers 4xx with `{"error": message}`, and an unexpected failure answers 500 with the same shape while the server
keeps serving.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

import faithlab
from faithlab.errors import FaithlabError
from faithlab.explain import EXPLAINERS
from faithlab.explain.explanation import WORD_AGGREGATIONS
from faithlab.models import Classifier
from faithlab.report.explanation_views import SCALES
from faithlab.report.html import render_html
from faithlab.report.styles import METHOD_STYLES
from faithlab.serve.runs import VERDICT_JSON, RunFolder
from faithlab.serve.schemas import AttentionRequest, DeletionRequest, EditRequest, ExplainRequest, Limits
from faithlab.serve.service import Service
from faithlab.serve.views import VIEWS, Aggregation, Scale, ViewOptions
from faithlab.serve.worker import Cache, QueueFull, Worker

STATIC = Path(__file__).parent / "static"
# the page loads its own script and stylesheet only; JS sets colours through the CSSOM, which CSP allows
CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; object-src 'none'"
TableFormat = Literal["json", "csv"]
log = logging.getLogger(__name__)


def create_app(classifier: Classifier, run: str | Path | None = None, limits: Limits | None = None) -> FastAPI:
    """The web app over `classifier`; `run` is a bench run folder whose leaderboard the app shows.

    Args:
        classifier: the model every explanation, attention map and deletion table is computed with.
        run: a `faithlab bench` output folder (results.parquet/csv/sqlite and config.json), or None.
        limits: what one request may ask for (default `Limits()`).

    Returns:
        The FastAPI application (serve it with uvicorn; its OpenAPI description is at /openapi.json).
    """
    limits = limits or Limits()
    worker = Worker(limits.max_queue)
    service = Service(classifier, limits, Cache())
    folder = RunFolder(run) if run is not None else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        worker.shutdown()

    # no /docs or /redoc pages: FastAPI's load their scripts from a CDN; the description itself is /openapi.json
    app = FastAPI(title="faithlab", version=faithlab.__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Explain a text classifier's predictions and measure how far each explanation holds.")
    _add_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/api/info")
    async def info() -> dict[str, Any]:
        """The model, its labels, the limits, every method with its settings schema, and the views."""
        return {
            "model": classifier.name,
            "fingerprint": classifier.fingerprint,
            "labels": list(classifier.labels),
            "limits": asdict(limits),
            "methods": {name: {"doc": (cls.__doc__ or "").strip().split("\n")[0],
                               "settings": cls.Settings.model_json_schema()} for name, cls in EXPLAINERS.items()},
            "views": list(VIEWS),
            "word_aggregations": list(WORD_AGGREGATIONS),
            "scales": list(SCALES),
            "styles": {name: asdict(style) for name, style in METHOD_STYLES.items()},
            "run": str(folder.folder) if folder else None,
            "verdict": folder is not None and (folder.folder / VERDICT_JSON).is_file(),
            "cache": {"hits": service.cache.hits, "misses": service.cache.misses},
        }

    @app.post("/api/explain")
    async def explain(request: ExplainRequest, show_special: bool = False, aggregation: Aggregation = "sum",
                      scale: Scale = "row") -> dict[str, Any]:
        """The prediction and each method's explanation with every view (token and word level: words merged by
        `aggregation`, colours on a per-row or shared `scale`, both stated in the response's legends)."""
        options = ViewOptions(aggregation, scale, show_special)
        return await worker.run(lambda: service.explain(request, options))

    @app.post("/api/explain/download")
    async def download(request: ExplainRequest, format: Literal["json", "html"] = "json") -> Response:
        """The explanations as a JSON file (`Explanation.to_dict` each) or as the self-contained HTML report."""
        done = await worker.run(lambda: service.explained(request))
        if format == "html":
            return _attachment(render_html(done.explanations.values()), "explanations.html", "text/html")
        body = json.dumps([e.to_dict() for e in done.explanations.values()], indent=1)
        return _attachment(body, "explanations.json", "application/json")

    @app.post("/api/faithfulness")
    async def faithfulness(request: ExplainRequest) -> dict[str, Any]:
        """Comprehensiveness, sufficiency and leave-one-out agreement per method on this text, and which to trust."""
        return await worker.run(lambda: service.faithfulness(request))

    @app.post("/api/attention")
    async def attention(request: AttentionRequest) -> dict[str, Any]:
        """One head's attention matrix (tokens on both axes) and, for short texts, the layers × heads grid."""
        return await worker.run(lambda: service.attention(request))

    @app.post("/api/deletion", response_model=None)
    async def deletion(request: DeletionRequest, format: TableFormat = "json") -> dict[str, Any] | Response:
        """The deletion table: each word deleted in turn, the output before and after, the new prediction."""
        table = await worker.run(lambda: service.deletion(request))
        return _csv(deletion_frame(table), "deletion.csv") if format == "csv" else table

    @app.post("/api/edit")
    async def edit(request: EditRequest, show_special: bool = False, aggregation: Aggregation = "sum",
                   scale: Scale = "row") -> dict[str, Any]:
        """The text with one word deleted or replaced, explained side by side with the original."""
        options = ViewOptions(aggregation, scale, show_special)
        return await worker.run(lambda: service.edit(request, options))

    @app.get("/api/run/filters")
    async def run_filters() -> dict[str, list[str]]:
        """The models, data sets, methods and metrics of the run folder."""
        return _run(folder).filters()

    @app.get("/api/run/leaderboard", response_model=None)
    async def leaderboard(
        model: str | None = None, dataset: str | None = None, method: str | None = None,
        metric: str | None = None, format: TableFormat = "json",
    ) -> dict[str, Any] | Response:
        """Mean per model, data set, method and metric (best method first), filtered."""
        table = _run(folder).leaderboard(model=model, dataset=dataset, method=method, metric=metric)
        return _csv(table, "leaderboard.csv") if format == "csv" else {"rows": table.to_dict("records")}

    @app.get("/api/run/verdict")
    async def run_verdict(model: str | None = None, dataset: str | None = None) -> dict[str, Any]:
        """Which method to trust per model and data set (verdict.json): leader, tied top set, evidence, summary."""
        return {"verdicts": _run(folder).verdicts(model=model, dataset=dataset)}

    @app.get("/api/run/examples")
    async def run_examples(model: str, dataset: str, method: str, metric: str) -> dict[str, Any]:
        """Each example's value of one model, data set, method and metric."""
        table = _run(folder).examples(model, dataset, method, metric)
        return {"rows": json.loads(table.to_json(orient="records"))}

    @app.get("/api/run/example")
    async def run_example(dataset: str, example: int = Query(ge=0)) -> dict[str, Any]:
        """An example's text (and pair), read again from the run's data set, to open in every view."""
        return await worker.run(lambda: _run(folder).example_text(dataset, example))

    return app


def deletion_frame(table: dict[str, Any]) -> pd.DataFrame:
    """The deletion table flat, one column per class probability after the deletion."""
    rows = [
        {k: v for k, v in row.items() if k != "probabilities_after"}
        | {f"p_after({label})": p for label, p in row["probabilities_after"].items()}
        for row in table["rows"]
    ]
    return pd.DataFrame(rows)


class NoRunFolder(FaithlabError):
    """A bench-run endpoint was called on an app started without --run."""


def _run(folder: RunFolder | None) -> RunFolder:
    if folder is None:
        raise NoRunFolder("no bench run folder is open; start the app with --run DIR")
    return folder


def _attachment(body: str, name: str, media_type: str) -> Response:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _csv(frame: pd.DataFrame, name: str) -> Response:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return _attachment(buffer.getvalue(), name, "text/csv")


def _add_error_handlers(app: FastAPI) -> None:
    """Bad input → 4xx with one message; anything else → 500 with a message, and the server goes on."""

    @app.exception_handler(FaithlabError)
    async def bad_input(_: Request, exc: FaithlabError) -> JSONResponse:
        return JSONResponse({"error": " ".join(str(exc).split())}, status_code=422)

    @app.exception_handler(NoRunFolder)
    async def no_run(_: Request, exc: NoRunFolder) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=404)

    @app.exception_handler(RequestValidationError)
    async def bad_body(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"error": problems}, status_code=422)

    @app.exception_handler(QueueFull)
    async def busy(_: Request, exc: QueueFull) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=429)

    @app.exception_handler(Exception)
    async def failure(_: Request, exc: Exception) -> JSONResponse:
        log.exception("request failed")
        return JSONResponse({"error": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)
