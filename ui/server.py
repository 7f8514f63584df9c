"""The UI's web server: Gradio mounted on a FastAPI app that also serves ``/metrics``,
``/healthz`` and the latest drift report (which the Drift tab embeds in an iframe: the
Evidently report is a whole page with its own scripts)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from homeval.drift.report import REPORT_NAME, serving_reports_dir
from homeval.platform.settings import Settings
from ui import metrics
from ui.app import CSS, build_blocks
from ui.handlers import Services

log = logging.getLogger("homeval.ui")

UPLOAD_PATHS: Final = ("/gradio_api/upload", "/upload")
"""Gradio's file upload routes (``/upload`` is the older name)."""


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The whole UI as one ASGI app (``services`` lets tests hand in their own)."""
    services = services or Services.from_settings(settings)
    metrics.prime()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        services.close()

    app = FastAPI(
        title="homeval UI", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )

    @app.middleware("http")
    async def no_uploads(request: Request, call_next: Any) -> Response:
        """No part of the page takes a file, but Gradio's upload route is always there and
        took 50 MB files from anyone onto the pod's disk: refused before it is read."""
        if request.url.path.rstrip("/").endswith(UPLOAD_PATHS):
            return JSONResponse({"detail": "this app takes no uploads"}, status_code=403)
        response: Response = await call_next(request)
        return response

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    def report(path: Path, missing: str) -> Response:
        if not path.is_file():
            return HTMLResponse(f"<p>{missing}</p>", status_code=404)
        return FileResponse(path, media_type="text/html")

    @app.get("/drift/report", include_in_schema=False, response_model=None)
    def drift_report() -> Response:
        return report(
            settings.reports_dir / REPORT_NAME,
            "No drift report yet: the pipeline's drift step writes one.",
        )

    @app.get("/drift/serving-report", include_in_schema=False, response_model=None)
    def serving_report() -> Response:
        return report(
            serving_reports_dir(settings) / REPORT_NAME,
            "No serving-drift report yet: the pipeline's drift step computes one.",
        )

    blocks = build_blocks(services)
    return gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        theme=gr.themes.Soft(),
        css=CSS,
        footer_links=[],
        show_error=False,
        ssr_mode=False,
        max_file_size="1kb",  # and should a route get past the refusal, nothing big lands
    )


def serve(settings: Settings) -> None:
    """Run the UI until interrupted."""
    import uvicorn

    app = create_app(settings)
    log.info("homeval UI on http://%s:%d", settings.ui_host, settings.ui_port)
    uvicorn.run(app, host=settings.ui_host, port=settings.ui_port, log_level="info")
