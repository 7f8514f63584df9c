"""Every PromQL expression of the dashboards returns data from a real Prometheus.

A real stack on loopback: an MLflow registry (SQLite) with a house-price model fitted on
the real Realtor rows, the predictor (``homeval serve``), the UI (``homeval ui``) pointed
at it, and Debian's ``prometheus`` scraping both every second. Traffic goes through
both: predictions, explanations and bad requests to the predictor, and prices asked
through the UI's own API (the ``price`` event, as the page sends it). Then every
expression of every dashboard is evaluated and must return at least one sample.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import REPO, free_port, missing
from tests.deploy import dashboards

pytestmark = pytest.mark.slow

PATH = "/v1/models/house-price"
LISTING = {
    "brokered_by": 10481.0,
    "status": "for_sale",
    "bed": 3,
    "bath": 2,
    "acre_lot": 0.25,
    "street": 1012345.0,
    "city": "Hartford",
    "state": "Connecticut",
    "zip_code": "06103",
    "house_size": 1600,
    "prev_sold_date": "2015-06-01",
}


@dataclass
class Process:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def _start(name: str, argv: list[str], env: dict[str, str], url: str, ready: str,
           log: Path, ok: Callable[[httpx.Response], bool] | None = None) -> Process:  # fmt: skip
    """Start a process in its own session and wait until ``url + ready`` answers."""
    handle = log.open("wb")
    process = subprocess.Popen(
        argv, cwd=REPO, env={**os.environ, **env}, stdout=handle, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    started = Process(name, url, process, log)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{name} exited {process.returncode}:\n{started.output()}")
        try:
            answer = httpx.get(url + ready, timeout=2)
            if (ok or (lambda r: r.status_code == 200))(answer):
                return started
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    started.stop()
    raise AssertionError(f"{name} not ready in time:\n{started.output()}")


def _registry(
    home: Path, realtor_files: list[Path], change: Callable[[Any], Any] = lambda model: model
) -> dict[str, str]:
    """An MLflow registry with house-price v1 (alias production), fitted on real rows
    (and passed through ``change`` before it is registered)."""
    try:
        from tests.inference.conftest import Registry, register
    except ImportError as exc:  # the predictor's test helpers (issue 4) are not in the tree
        pytest.skip(f"predictor test helpers not available yet: {exc}")
    from homeval.platform.settings import Settings
    from homeval.registry.tracking import configure
    from tests.homeval.helpers import real_listings, small_model

    listings = real_listings(realtor_files)
    registry = Registry(
        home=home, tracking_uri=f"sqlite:///{home / 'mlflow.db'}", listings=listings
    )
    saved = dict(os.environ)
    try:
        os.environ.update(registry.env())
        configure(Settings())
        register(registry, change(small_model(listings)), "lightgbm", "production")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return registry.env()


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, realtor_files: list[Path]
) -> Iterator[dict[str, Process]]:
    prometheus_bin = shutil.which("prometheus") or ""
    if not prometheus_bin:
        missing("Debian prometheus not found (make system-deps)")
    for part, issue in (("inference/server.py", 4), ("ui/app.py", 5)):
        if not (REPO / part).is_file():
            pytest.skip(f"{part} (issue {issue}) is not in the tree yet")
    work = tmp_path_factory.mktemp("promql")
    home = work / "home"
    home.mkdir()
    env = {
        **_registry(home, realtor_files),
        "HOMEVAL_DATABASE_URL": f"sqlite:///{home / 'homeval.db'}",
        "HOMEVAL_PREDICTOR_RELOAD_S": "1",
    }
    homeval = str(Path(sys.executable).parent / "homeval")
    subprocess.run([homeval, "db", "init"], env={**os.environ, **env}, check=True,
                   capture_output=True, cwd=REPO)  # fmt: skip
    started: dict[str, Process] = {}
    try:
        port = free_port()
        started["predictor"] = _start(
            "predictor", [homeval, "serve"],
            {**env, "HOMEVAL_PREDICTOR_HOST": "127.0.0.1", "HOMEVAL_PREDICTOR_PORT": str(port)},
            f"http://127.0.0.1:{port}", "/v1/models/house-price", work / "predictor.log",
        )  # fmt: skip
        port = free_port()
        started["ui"] = _start(
            "ui", [homeval, "ui"],
            {**env, "HOMEVAL_UI_HOST": "127.0.0.1", "HOMEVAL_UI_PORT": str(port),
             "HOMEVAL_PREDICTOR_URL": started["predictor"].url},
            f"http://127.0.0.1:{port}", "/healthz", work / "ui.log",
        )  # fmt: skip
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {"job_name": name, "static_configs": [{"targets": [p.url.split("//")[1]]}]}
                for name, p in started.items()
            ],
        }
        (work / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        started["prometheus"] = _start(
            "prometheus",
            [prometheus_bin, f"--config.file={work / 'prometheus.yml'}",
             f"--storage.tsdb.path={work / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
            {}, f"http://127.0.0.1:{port}", "/-/ready", work / "prometheus.log",
        )  # fmt: skip
        yield started
    finally:
        for process in reversed(list(started.values())):
            process.stop()


def drive_predictor(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(20):
            answer = client.post(
                "/v1/models/house-price:predict", json={"instances": [LISTING] * 3}
            )
            assert answer.status_code == 200, answer.text
            answer = client.post(f"{PATH}:explain", json={"instances": [LISTING]})
            assert answer.status_code == 200, answer.text
        bad_bodies: list[dict[str, Any]] = [
            {"instances": []},
            {"instances": [{**LISTING, "house_size": -5}]},
        ]
        for bad in bad_bodies:
            assert client.post(f"{PATH}:predict", json=bad).status_code == 400


UI_LISTING = {
    "state": "Connecticut",
    "city": "Hartford",
    "zip_code": "06103",
    "bed": 3,
    "bath": 2,
    "house_size": 1600,
    "acre_lot": 0.25,
    "prev_sold_date": "2015-06-01",
}


def drive_ui(url: str) -> None:
    """Ask for prices through the page's API (``/price_listing``, as a script would); each
    is counted like a price asked on the page."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    for _ in range(5):
        result = client.predict(**UI_LISTING, api_name="/price_listing")
        assert result["price"] > 0, f"the UI gave no price: {result}"


def query_prometheus(prometheus: str, expr: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10)
    body = answer.json()
    assert body.get("status") == "success", f"{expr}: {body}"
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def wait_for(prometheus: str, expr: str, seconds: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while True:
        result = query_prometheus(prometheus, expr)
        if result or time.monotonic() > deadline:
            return result
        time.sleep(1)


@pytest.fixture(scope="module")
def scraped(stack: dict[str, Process]) -> str:
    """Prometheus after two rounds of traffic, a few scrapes apart (so rates exist)."""
    prometheus = stack["prometheus"].url
    for job in ("predictor", "ui"):
        assert wait_for(prometheus, f'up{{job="{job}"}} == 1'), f"{job} not scraped"
    for _ in range(2):
        drive_predictor(stack["predictor"].url)
        drive_ui(stack["ui"].url)
        time.sleep(3)
    return prometheus


PROMQL = [
    q for f in dashboards.dashboard_files() for q in dashboards.queries(f)
    if q.datasource == "prometheus"
] + [
    q for f in dashboards.dashboard_files() for q in dashboards.template_queries(f)
    if q.datasource == "prometheus" and not q.text.startswith("label_values(")
]  # fmt: skip


@pytest.mark.parametrize("query", PROMQL, ids=str)
def test_expression_returns_data(query: dashboards.Query, scraped: str) -> None:
    expr = dashboards.promql(query.text, rate_interval="1m")
    result = wait_for(scraped, expr, seconds=20)
    assert result, f"no data for {query}"
    values = [float(sample["value"][1]) for sample in result]
    assert any(math.isfinite(v) for v in values), f"only NaN/Inf for {query}: {values}"


def test_model_variable_lists_the_served_model(scraped: str) -> None:
    (var,) = [
        q for f in dashboards.dashboard_files() for q in dashboards.template_queries(f)
        if q.text.startswith("label_values(")
    ]  # fmt: skip
    metric, label = var.text.removeprefix("label_values(").removesuffix(")").split(", ")
    answer = httpx.get(f"{scraped}/api/v1/label/{label}/values", params={"match[]": metric})
    assert "house-price" in answer.json()["data"]


def test_every_contract_metric_is_exported(stack: dict[str, Process], scraped: str) -> None:
    names = set(json.loads(httpx.get(f"{scraped}/api/v1/label/__name__/values").text)["data"])
    families = {dashboards.family(n) for n in names}
    missing_ = dashboards.METRICS_CONTRACT - families
    assert not missing_, f"metrics promised but not exported: {missing_}"
