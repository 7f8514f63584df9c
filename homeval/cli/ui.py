"""``homeval ui``: the web page (Price, Models, Training, Drift)."""

from __future__ import annotations

import logging
import os

import sqlalchemy as sa
import typer

from homeval.cli.common import console, fail, load_settings, refuse_taken_port


def ui(
    host: str | None = typer.Option(None, help="Bind address (default: HOMEVAL_UI_HOST)."),
    port: int | None = typer.Option(
        None, min=1, max=65535, help="Port (default: HOMEVAL_UI_PORT)."
    ),
    predictor_url: str | None = typer.Option(
        None, help="Predictor base URL (default: HOMEVAL_PREDICTOR_URL)."
    ),
) -> None:
    """Serve the web UI until interrupted; /metrics serves Prometheus."""
    settings = load_settings()
    if host is not None:
        settings.ui_host = host
    if port is not None:
        settings.ui_port = port
    if predictor_url is not None:
        if not predictor_url.startswith(("http://", "https://")):
            fail(f"--predictor-url must start with http:// or https://, got {predictor_url!r}")
        settings.predictor_url = predictor_url
    refuse_taken_port(settings.ui_host, settings.ui_port, "--port or HOMEVAL_UI_PORT")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from ui.server import serve

    store = sa.make_url(settings.database_url).render_as_string(hide_password=True)
    console.print(
        f"homeval UI on [bold]http://{settings.ui_host}:{settings.ui_port}[/] "
        f"(predictor {settings.predictor_url}, store {store})"
    )
    serve(settings)
