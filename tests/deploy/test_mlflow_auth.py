"""MLflow's auth proxy, for real: the cluster's own nginx config (manifests/base/mlflow/
auth-proxy.conf, only its ports and folders moved) in Debian's nginx, in front of a real
``mlflow server``, with the key ``scripts/create-cluster-secrets.sh`` makes.

Writes without the key are refused (an alias moved by curl was the attack); the pipeline's
writes with it pass; the predictor's and the UI's reads need no key.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from homeval.platform.settings import Settings
from tests.conftest import REPO, free_port, mlflow_at, on_path
from tests.homeval.registry.test_drift_reports import fetch_latest, publish, write_check

CONFIG = REPO / "manifests/base/mlflow/auth-proxy.conf"
MODEL = "house-price"

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Proxied:
    url: str
    user: str
    password: str


def writer_key() -> tuple[str, str, str]:
    """(user, password, htpasswd line) as the dev overlay's script makes them."""
    on_path("kubectl", "the script prints Secrets with kubectl --dry-run")
    out = subprocess.run(["bash", str(REPO / "scripts/create-cluster-secrets.sh")],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    found = {}
    for doc in yaml.safe_load_all(out):
        if doc and doc["metadata"]["name"] in ("homeval-mlflow-writer", "homeval-mlflow-auth"):
            found[doc["metadata"]["name"]] = {
                k: base64.b64decode(v).decode() for k, v in doc["data"].items()
            }
    writer = found["homeval-mlflow-writer"]
    return writer["username"], writer["password"], found["homeval-mlflow-auth"]["htpasswd"]


def proxy_config(tmp: Path, port: int, mlflow_port: int, htpasswd: Path) -> str:
    """The cluster's config with this test's ports and folders; each replaced piece must
    be there, so a change of the file shows here rather than passing untested."""
    text = CONFIG.read_text()
    for old, new in (
        ("/tmp/", f"{tmp}/"),  # first: the paths put in below may start with /tmp/
        ("listen 5000;", f"listen 127.0.0.1:{port};"),
        ("http://127.0.0.1:5001;", f"http://127.0.0.1:{mlflow_port};"),
        ("/etc/mlflow-auth/htpasswd", str(htpasswd)),
    ):
        assert old in text, f"{CONFIG.name} no longer has {old!r}"
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    nginx = on_path("nginx", "Debian's nginx package; make system-deps installs it")
    tmp = tmp_path_factory.mktemp("mlflow-auth")
    user, password, line = writer_key()
    htpasswd = tmp / "htpasswd"
    htpasswd.write_text(line + "\n")
    port, mlflow_port = free_port(), free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(proxy_config(tmp, port, mlflow_port, htpasswd))
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
           "MLFLOW_DISABLE_TELEMETRY": "true"}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1",
         "--port", str(mlflow_port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{tmp / 'mlflow.db'}",
         "--serve-artifacts", "--artifacts-destination", str(tmp / "artifacts"),
         "--allowed-hosts", f"127.0.0.1:{port},localhost"],
        env=env, stdout=subprocess.DEVNULL, stderr=(tmp / "mlflow.log").open("w"),
    )  # fmt: skip
    # as root (CI) nginx's workers take the user named here; in the pod it runs as 1000
    user_directive = " user root root;" if os.geteuid() == 0 else ""
    proxy = subprocess.Popen(
        [nginx, "-p", str(tmp), "-c", str(conf), "-e", "stderr",
         "-g", f"daemon off;{user_directive}"],
        stdout=subprocess.DEVNULL, stderr=(tmp / "nginx.log").open("w"),
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, tmp)
        yield Proxied(url, user, password)
    finally:
        for process in (proxy, server):
            process.terminate()
            process.wait(timeout=30)


def wait_healthy(url: str, tmp: Path) -> None:
    """MLflow's /health through the proxy (an open read), or fail with both logs."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    logs = (tmp / "mlflow.log").read_text()[-2000:] + (tmp / "nginx.log").read_text()[-2000:]
    pytest.fail(f"MLflow behind the proxy never answered /health:\n{logs}")


def settings(proxied: Proxied, home: Path, *, writer: bool) -> Settings:
    key = {"mlflow_tracking_username": proxied.user, "mlflow_tracking_password": proxied.password}
    return Settings(
        home=home,
        mlflow_tracking_uri=proxied.url,
        mlflow_artifact_root="mlflow-artifacts:/homeval",
        **(key if writer else {}),
    )


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """No MLflow credentials in this process (configure() exports them; this restores)."""
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.setenv(name, "placeholder")  # registered, so teardown restores it
        monkeypatch.delenv(name)


def test_reads_pass_writes_need_the_pipelines_key(
    proxied: Proxied, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_key: None
) -> None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    # the pipeline writes, with its key: a drift check (run + artifacts uploaded through
    # the proxy), then a model version and the production alias
    pod = settings(proxied, tmp_path / "pod", writer=True)
    write_check(pod.reports_dir, "2026-12-07T10:00:00+00:00", "<html>checked</html>")
    with mlflow_at(proxied.url):
        run_id = publish(pod, with_report=True)
        assert run_id, "the pipeline's write was refused"
        writer = MlflowClient(proxied.url)
        writer.create_registered_model(MODEL)
        version = writer.create_model_version(MODEL, f"runs:/{run_id}/drift", run_id=run_id)
        writer.set_registered_model_alias(MODEL, "production", version.version)

    # a reader (predictor, UI) without any key
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
    ui = settings(proxied, tmp_path / "ui", writer=False)
    with mlflow_at(proxied.url):
        assert fetch_latest(ui) is True  # POST runs/search + artifact download
        assert (ui.reports_dir / "latest.html").read_text() == "<html>checked</html>"
        reader = MlflowClient(proxied.url)
        assert reader.get_model_version_by_alias(MODEL, "production").version == version.version
        # … and the attack: move the alias, or anything else that writes, without the key
        with pytest.raises(MlflowException, match="401"):
            reader.set_registered_model_alias(MODEL, "production", "99")
        with pytest.raises(MlflowException, match="401"):
            reader.delete_registered_model(MODEL)
        assert publish(ui, with_report=True) is None  # refused, said in a warning
    alias = httpx.get(f"{proxied.url}/api/2.0/mlflow/registered-models/alias",
                      params={"name": MODEL, "alias": "production"})  # fmt: skip
    assert alias.json()["model_version"]["version"] == version.version, "nothing moved"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/2.0/mlflow/registered-models/alias"),
        ("DELETE", "/api/2.0/mlflow/registered-models/alias"),
        ("POST", "/ajax-api/2.0/mlflow/runs/create"),
        ("PUT", "/api/2.0/mlflow-artifacts/artifacts/homeval/x/latest.html"),
        ("POST", "/graphql"),
        ("GET", "/graphql?query=mutation%7Btest%7D"),
        # a write dressed as a read: nginx judges the normalised path
        ("POST", "/api/2.0/mlflow/runs/search/../../registered-models/alias"),
        ("POST", "/api/2.0/mlflow/runs/search/..%2F..%2Fregistered-models/alias"),
    ],
)
def test_a_write_without_the_key_is_refused(proxied: Proxied, method: str, path: str) -> None:
    body = {"name": MODEL, "alias": "production", "version": "99"}
    answer = httpx.request(method, f"{proxied.url}{path}", json=body)
    assert answer.status_code == 401, (answer.status_code, answer.text[:300])
    assert answer.headers["www-authenticate"] == 'Basic realm="MLflow writes"'
    wrong = httpx.request(method, f"{proxied.url}{path}", json=body, auth=(proxied.user, "wrong"))
    assert wrong.status_code == 401
