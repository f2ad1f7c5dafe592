"""`faithlab serve`: start the web app on one model (and optionally a bench run folder).

FastAPI and uvicorn are imported when the command runs, so `faithlab` works without the `serve` extra.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

import typer

from faithlab.cli_options import Model
from faithlab.errors import FaithlabError

LOOPBACK = "127.0.0.1"


def serve_command(
    model: Model = None,
    run: Annotated[Path | None, typer.Option(help="A bench run folder: its leaderboard and examples.")] = None,
    port: Annotated[int, typer.Option(help="The port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="The address to listen on (loopback by default: only this machine).")]
    = LOOPBACK,
    new_head: Annotated[bool, typer.Option(help="Attach an untrained head to a model that has none.")] = False,
) -> None:
    """Open a local web app: explain typed texts with any methods, see their views, faithfulness and attention,
    edit a word and compare, and browse a bench run's leaderboard."""
    if model is None:
        raise FaithlabError("give the model to serve with --model (a folder, Hub cache id or 'minilm')")
    missing = [name for name in ("fastapi", "uvicorn") if importlib.util.find_spec(name) is None]
    if missing:
        raise FaithlabError(f"faithlab serve needs {' and '.join(missing)}: pip install 'faithlab[serve]'")
    if not 0 < port < 65536:
        raise FaithlabError(f"--port must be between 1 and 65535, got {port}")
    import uvicorn

    from faithlab.models import load_classifier
    from faithlab.serve.app import create_app

    classifier = load_classifier(model, new_head=new_head)
    app = create_app(classifier, run=run)
    typer.echo(f"faithlab serve: {classifier.name} on http://{host}:{port} (API description: /openapi.json)")
    uvicorn.run(app, host=host, port=port, workers=1, log_level="warning")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
