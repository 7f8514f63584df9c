"""Prometheus scrapes the containers with the project's own configuration, and every
Grafana dashboard query returns data.

Debian's ``prometheus`` runs ``manifests/base/prometheus/prometheus.yml`` with its own
relabelling (the pods' ``prometheus.io/*`` annotations, phase, labels) unchanged. What
cannot run here is pod discovery: there is no Kubernetes API, and Debian builds Prometheus
without ``kubernetes_sd_configs``. So the job's discovery is swapped for a file listing
the targets with the ``__meta_kubernetes_*`` labels pod discovery would attach to the
predictor and UI pods as their manifests describe them — at loopback addresses where
the predictor and UI containers listen on their manifest ports. Also test-only: a 1 s
scrape interval and the rules file's path.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import REPO, free_port, on_path
from tests.deploy.test_dashboards_promql import (
    PROMQL,
    drive_predictor,
    drive_ui,
    query_prometheus,
    wait_for,
)
from tests.images.conftest import Container, Stack, cluster_env, detached

pytestmark = pytest.mark.slow

NAMESPACE = "homeval"
PREDICTOR_IP, UI_IP = "127.0.0.2", "127.0.0.3"
"""The pods' IPs: loopback addresses, so each container keeps its manifest port."""


def manifest(path: str) -> dict[str, Any]:
    return yaml.safe_load((REPO / "manifests/base" / path).read_text())


@dataclass(frozen=True)
class Pod:
    name: str
    ip: str
    labels: dict[str, str]
    annotations: dict[str, str]
    ports: tuple[int, ...]

    def discovered(self) -> list[dict[str, Any]]:
        """What Prometheus's pod discovery yields for this pod: one target per container
        port, with the pod's metadata as ``__meta_kubernetes_*`` labels."""
        meta = {
            "__meta_kubernetes_namespace": NAMESPACE,
            "__meta_kubernetes_pod_name": self.name,
            "__meta_kubernetes_pod_ip": self.ip,
            "__meta_kubernetes_pod_phase": "Running",
            "__meta_kubernetes_pod_ready": "true",
        }
        for prefix, values in (("label", self.labels), ("annotation", self.annotations)):
            for key, value in values.items():
                meta[f"__meta_kubernetes_pod_{prefix}_{sanitize(key)}"] = str(value)
                meta[f"__meta_kubernetes_pod_{prefix}present_{sanitize(key)}"] = "true"
        return [{"targets": [f"{self.ip}:{port}"], "labels": meta} for port in self.ports]


def sanitize(name: str) -> str:
    """Prometheus's label-name sanitising of Kubernetes keys (``prometheus.io/port`` ->
    ``prometheus_io_port``)."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def predictor_pod() -> Pod:
    spec = manifest("predictor/inferenceservice.yaml")["spec"]["predictor"]
    ports = tuple(p["containerPort"] for c in spec["containers"] for p in c.get("ports", []))
    return Pod("house-price-predictor-0", PREDICTOR_IP, spec["labels"], spec["annotations"], ports)


def ui_pod() -> Pod:
    template = manifest("ui/deployment.yaml")["spec"]["template"]
    ports = tuple(
        p["containerPort"] for c in template["spec"]["containers"] for p in c.get("ports", [])
    )
    meta = template["metadata"]
    return Pod("ui-0", UI_IP, meta["labels"], meta["annotations"], ports)


def prometheus_config(targets_file: Path) -> dict[str, Any]:
    config = yaml.safe_load((REPO / "manifests/base/prometheus/prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(REPO / "manifests/base/prometheus/rules.yml")]
    for job in config["scrape_configs"]:
        assert job.pop("kubernetes_sd_configs") == [
            {"role": "pod", "namespaces": {"names": [NAMESPACE]}}
        ], "the test emulates pod discovery of the homeval namespace only"
        job["file_sd_configs"] = [{"files": [str(targets_file)], "refresh_interval": "1s"}]
    return config


@pytest.fixture(scope="module")
def prometheus_bin() -> str:
    return on_path("prometheus", "Debian package prometheus: make system-deps")


@pytest.fixture(scope="module")
def monitored(
    prometheus_bin: str,
    stack: Stack,
    built: Callable[[str], str],
    run_module_container: Callable[..., Container],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """Prometheus (URL) scraping a predictor and a UI container that got traffic."""
    pods = {"predictor": predictor_pod(), "ui": ui_pod()}
    port = int(pods["predictor"].annotations["prometheus.io/port"])
    predictor = run_module_container(
        built("inference"),
        cluster_env(MLFLOW_TRACKING_URI=stack.mlflow_url)
        | {"HOMEVAL_PREDICTOR_HOST": PREDICTOR_IP},
    )
    predictor_url = f"http://{PREDICTOR_IP}:{port}"
    predictor.wait_http(f"{predictor_url}/v1/models/house-price", timeout=180)
    ui_port = int(pods["ui"].annotations["prometheus.io/port"])
    ui = run_module_container(
        built("ui"),
        cluster_env(MLFLOW_TRACKING_URI=stack.mlflow_url, HOMEVAL_PREDICTOR_URL=predictor_url)
        | {"HOMEVAL_UI_HOST": UI_IP},
    )
    ui_url = f"http://{UI_IP}:{ui_port}"
    ui.wait_http(f"{ui_url}/healthz")
    work = tmp_path_factory.mktemp("prometheus")
    targets = work / "pods.json"
    targets.write_text(json.dumps([t for pod in pods.values() for t in pod.discovered()]))
    (work / "prometheus.yml").write_text(yaml.safe_dump(prometheus_config(targets)))
    listen = f"127.0.0.1:{free_port()}"
    log = (work / "prometheus.log").open("wb")
    server = subprocess.Popen(
        [prometheus_bin, f"--config.file={work / 'prometheus.yml'}",
         f"--storage.tsdb.path={work / 'tsdb'}", f"--web.listen-address={listen}"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://{listen}"
    try:
        deadline = time.monotonic() + 60
        while server.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            time.sleep(0.3)
        assert server.poll() is None, (work / "prometheus.log").read_text()[-3000:]
        scraped = wait_for(url, 'count(up{job="homeval-pods"} == 1) == 2', seconds=90)
        assert scraped, (
            "Prometheus did not scrape both pods:\n" + (work / "prometheus.log").read_text()[-3000:]
        )
        for _ in range(2):
            drive_predictor(predictor_url)
            drive_ui(ui_url)
            time.sleep(3)
        yield url
    finally:
        server.terminate()
        server.wait(30)


@pytest.fixture(scope="module")
def run_module_container() -> Iterator[Callable[..., Container]]:
    with contextlib.ExitStack() as containers:
        yield lambda image, env, *args: containers.enter_context(detached(image, env, *args))


def test_the_pods_are_found_and_labelled_by_the_projects_relabelling(monitored: str) -> None:
    result = query_prometheus(monitored, 'up{job="homeval-pods"}')
    by_app = {sample["metric"]["app"]: sample["metric"] for sample in result}
    assert set(by_app) == {"predictor", "ui"}
    assert by_app["predictor"]["instance"] == f"{PREDICTOR_IP}:8080"
    assert by_app["ui"]["instance"] == f"{UI_IP}:7860"
    assert {m["namespace"] for m in by_app.values()} == {NAMESPACE}


def test_the_alert_rules_load(monitored: str) -> None:
    groups = httpx.get(f"{monitored}/api/v1/rules", timeout=10).json()["data"]["groups"]
    assert groups, "no rule group loaded from manifests/base/prometheus/rules.yml"
    assert all(rule["health"] == "ok" for g in groups for rule in g["rules"])


def test_every_dashboard_query_returns_data_from_the_containers(monitored: str) -> None:
    from tests.deploy import dashboards

    empty = []
    for query in PROMQL:
        result = wait_for(monitored, dashboards.promql(query.text, rate_interval="1m"), 20)
        values = [float(sample["value"][1]) for sample in result]
        if not any(math.isfinite(v) for v in values):
            empty.append(str(query))
    assert not empty, f"{len(empty)} of {len(PROMQL)} dashboard queries gave no data: {empty}"
