"""The UI's server over real HTTP on loopback: health, Prometheus metrics, the drift report,
and the Gradio page mounted beside them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from homeval.platform.settings import Settings
from tests.conftest import REPO, free_port

CONTRACT = {
    "homeval_ui_requests": "counter",
    "homeval_ui_predictions": "counter",
    "homeval_ui_errors": "counter",
    "homeval_ui_predictor_latency_seconds": "histogram",
}


def test_health_metrics_report_and_page_are_served(tmp_path: Path, run_ui: Any) -> None:
    settings = Settings(
        home=tmp_path / "home",
        predictor_url=f"http://127.0.0.1:{free_port()}",  # nothing there: the page still loads
    )
    ui = run_ui(settings)
    with httpx.Client(base_url=ui.url, timeout=10) as http:
        assert http.get("/healthz").json() == {"status": "ok"}

        page = http.get("/")
        assert page.status_code == 200
        assert "homeval" in page.text

        scraped = http.get("/metrics")
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain")
        assert "_created" not in scraped.text, "no *_created series doubling every metric"
        families = {f.name: f for f in text_string_to_metric_families(scraped.text)}
        for name, kind in CONTRACT.items():
            assert families[name].type == kind, name
        actions = {s.labels.get("action") for s in families["homeval_ui_requests"].samples}
        assert {"price", "models", "training", "drift"} <= actions  # primed at zero
        calls = {
            s.labels.get("call") for s in families["homeval_ui_predictor_latency_seconds"].samples
        }
        assert {"predict", "explain"} <= calls

        missing = http.get("/drift/report")
        assert missing.status_code == 404
        assert "No drift report yet" in missing.text
        settings.reports_dir.mkdir(parents=True)
        (settings.reports_dir / "latest.html").write_text("<html><b>drift</b></html>")
        assert http.get("/drift/serving-report").status_code == 404
        report = http.get("/drift/report")
        assert report.status_code == 200
        assert report.headers["content-type"].startswith("text/html")
        assert "<b>drift</b>" in report.text


def test_the_web_ui_loads_no_model_or_drift_library() -> None:
    """The page shows prices, reports and charts; pricing and drift checks run elsewhere (or
    load when a check is asked for), so the web process stays ~100 MB lighter."""
    heavy = ("sklearn", "scipy", "evidently", "lightgbm", "mlflow", "numba")
    script = f"import sys, ui.server; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=REPO, check=True)  # fmt: skip
    assert done.stdout.strip() == "[]"
