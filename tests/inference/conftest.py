"""A real MLflow registry (SQLite + local artifacts) with real models, and real servers.

The registry is built once per session: ``house-price`` v1 (LightGBM, alias
``production``), v2 (decision tree, alias ``challenger``) and v3 (LightGBM, no alias),
all fitted on the real Realtor rows.  Servers are ``homeval serve`` processes on free
loopback ports, stopped (process group) after each test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest

from tests.conftest import free_port
from tests.homeval.helpers import real_listings, small_model

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Registry:
    home: Path
    tracking_uri: str
    listings: pd.DataFrame

    def env(self) -> dict[str, str]:
        return {
            "HOMEVAL_HOME": str(self.home),
            "MLFLOW_TRACKING_URI": self.tracking_uri,
            "HOMEVAL_MLFLOW_TRACKING_URI": self.tracking_uri,
            "MLFLOW_DISABLE_TELEMETRY": "true",
        }

    def use(self) -> None:
        """Point this process (settings + MLflow) at the registry."""
        from homeval.platform.settings import Settings
        from homeval.registry.tracking import configure

        os.environ.update(self.env())
        configure(Settings(), create_experiment=False)


def register(registry: Registry, estimator: object, kind: str, alias: str | None) -> str:
    import mlflow
    from mlflow import MlflowClient

    from homeval.model.estimator import conformal_interval
    from homeval.model.features import land_mask
    from homeval.registry.packaging import log_price_model

    frame = registry.listings
    predicted = estimator.predict(frame)  # type: ignore[attr-defined]
    interval = conformal_interval(frame["price"], predicted, 0.9, land=land_mask(frame))
    with mlflow.start_run():
        info = log_price_model(
            estimator,
            kind=kind,  # type: ignore[arg-type]
            interval=interval,
            input_example=frame,
        )
    version = mlflow.register_model(info.model_uri, "house-price")
    if alias:
        MlflowClient().set_registered_model_alias("house-price", alias, version.version)
    return str(version.version)


@pytest.fixture(scope="session")
def listings(realtor_files: list[Path]) -> pd.DataFrame:
    return real_listings(realtor_files)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory, listings: pd.DataFrame) -> Registry:
    from homeval.platform.settings import Settings
    from homeval.registry.tracking import configure

    home = tmp_path_factory.mktemp("registry")
    reg = Registry(home=home, tracking_uri=f"sqlite:///{home / 'mlflow.db'}", listings=listings)
    saved = dict(os.environ)
    try:
        os.environ.update(reg.env())
        configure(Settings())
        register(reg, small_model(listings), "lightgbm", "production")
        register(reg, small_model(listings, kind="decision_tree"), "decision_tree", "challenger")
        register(reg, small_model(listings, n_estimators=40, num_leaves=31), "lightgbm", None)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return reg


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(env: dict[str, str], log: Path, *, wait_ready: bool = True) -> Served:
    port = free_port()
    full = {
        **os.environ,
        **env,
        "HOMEVAL_PREDICTOR_HOST": "127.0.0.1",
        "HOMEVAL_PREDICTOR_PORT": str(port),
    }
    handle = log.open("wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "homeval"), "serve"],
        cwd=REPO,
        env=full,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    served = Served(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited {process.returncode}:\n{served.output()}")
        try:
            path = "/v1/models/house-price" if wait_ready else "/"
            if httpx.get(served.url + path, timeout=2).status_code == 200:
                return served
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_server(served)
    raise AssertionError(f"server not ready in time:\n{served.output()}")


def stop_server(served: Served) -> None:
    if served.process.poll() is None:
        os.killpg(served.process.pid, signal.SIGTERM)
        try:
            served.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(served.process.pid, signal.SIGKILL)
            served.process.wait(10)


@pytest.fixture
def server_env(registry: Registry) -> dict[str, str]:
    return {**registry.env(), "HOMEVAL_PREDICTOR_RELOAD_S": "1"}


@pytest.fixture
def served(server_env: dict[str, str], tmp_path: Path) -> Iterator[Served]:
    server = start_server(server_env, tmp_path / "server.log")
    try:
        yield server
    finally:
        stop_server(server)
