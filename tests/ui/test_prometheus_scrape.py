"""Real Prometheus scrapes the real UI while it prices listings, and every expression of
the UI's Grafana dashboard answers with data."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO, free_port, missing
from tests.ui.conftest import Platform
from tests.ui.test_handlers import FORM
from ui.handlers import price_listing

DASHBOARD = REPO / "manifests/base/grafana/dashboards/ui.json"


def dashboard_expressions() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    return [
        target["expr"].replace("$__rate_interval", "30s")
        for panel in board.get("panels", [])
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10)
    answer.raise_for_status()
    return list(answer.json()["data"]["result"])


@pytest.mark.slow
def test_prometheus_reads_what_the_dashboard_shows(
    platform: Platform, tmp_path: Path, seeded_store: str, run_ui: Any
) -> None:
    binary = shutil.which("prometheus") or ""
    if not binary:
        missing("prometheus not found (Debian package prometheus; make system-deps)")
    ui = run_ui(platform.settings(tmp_path / "ui-home", database_url=seeded_store))
    target = ui.url.removeprefix("http://")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: ui\n    static_configs: [{{targets: ['{target}']}}]\n"
    )
    port = free_port()
    child = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    prometheus = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not query_ready(prometheus):
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "prometheus did not start in 60 s"
            time.sleep(0.3)
        # a few scrapes before and while people price listings
        for i in range(8):
            assert price_listing(ui.services, {**FORM, "bed": float(2 + i % 3)}, "house-price").ok
            time.sleep(1)
        price_listing(ui.services, {**FORM, "bed": -1.0}, "house-price")  # one refused form
        time.sleep(3)

        (shown,) = query(prometheus, "homeval_ui_predictions_total")
        assert float(shown["value"][1]) >= 8
        (refused,) = query(prometheus, 'homeval_ui_errors_total{kind="invalid_input"}')
        assert float(refused["value"][1]) >= 1
        for expr in dashboard_expressions():
            result = query(prometheus, expr)
            assert result, f"no data for the dashboard's {expr}"
            values = [float(r["value"][1]) for r in result]
            assert all(v == v for v in values), f"NaN for {expr}"  # quantiles need buckets
    finally:
        child.terminate()
        child.wait(timeout=20)


def query_ready(prometheus: str) -> bool:
    try:
        ready = httpx.get(f"{prometheus}/-/ready", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
    return ready and bool(query(prometheus, 'up{job="ui"} == 1'))
