"""``homeval serve``: the KServe predictor (v1/v2 predict and explain) on this machine."""

from __future__ import annotations

import logging
import os

import typer

from homeval.cli.common import fail, load_settings, refuse_taken_port


def serve(
    host: str = typer.Option(None, help="Bind address (default HOMEVAL_PREDICTOR_HOST)."),
    port: int = typer.Option(None, help="Port (default HOMEVAL_PREDICTOR_PORT)."),
    model_uri: str = typer.Option(
        None,
        "--model-uri",
        help="models:/NAME@ALIAS, models:/NAME/VERSION or a model folder "
        "(default HOMEVAL_PREDICTOR_MODEL_URI, else models:/<model_name>@<model_alias>).",
    ),
) -> None:
    """Serve the house-price model until interrupted; ready once a version is loaded."""
    for name, value in (("HOST", host), ("PORT", port), ("MODEL_URI", model_uri)):
        if value is not None:
            os.environ[f"HOMEVAL_PREDICTOR_{name}"] = str(value)
    settings = load_settings()
    refuse_taken_port(settings.predictor_host, settings.predictor_port, "HOMEVAL_PREDICTOR_PORT")
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        from inference.server import serve as run
    except ImportError as exc:  # e.g. an image without the serving extras
        fail(f"the predictor cannot start: {exc}", code=1)
    run(settings)
