"""Real parts for the UI's tests: a registered model, the real predictor serving it over
HTTP on loopback, a store with real listings, and the UI's own server in a thread."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from homeval.data.listing_parser import parse_frame, read_listings_csv
from homeval.data.store import Store
from homeval.platform.settings import Settings
from tests.conftest import REPO, free_port, missing, without_platform_settings

HOMEVAL = REPO / ".venv/bin/homeval"


@dataclass(frozen=True)
class Platform:
    """A model registry with one production version and the predictor serving it."""

    home: Path
    mlflow_uri: str
    predictor_url: str
    version: str

    def settings(self, home: Path, **overrides: Any) -> Settings:
        """Settings of a UI process that uses this registry and predictor, with its own
        store and reports under ``home``."""
        values: dict[str, Any] = {
            "home": home,
            "mlflow_tracking_uri": self.mlflow_uri,
            "mlflow_registry_uri": self.mlflow_uri,
            "predictor_url": self.predictor_url,
            "ui_choices_ttl_s": 0.0,
            **overrides,
        }
        return Settings(**values)


def wait_ready(url: str, child: subprocess.Popen[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if child.poll() is not None:
            output = child.stdout.read() if child.stdout else ""
            pytest.fail(f"the predictor exited with {child.returncode}:\n{output[-3000:]}")
        try:
            answer = httpx.get(f"{url}/v1/models/house-price", timeout=2)
            if answer.status_code == 200 and answer.json().get("ready"):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    pytest.fail(f"the predictor was not ready within {timeout_s:.0f} s")


@pytest.fixture(scope="session")
def platform(
    realtor_files: list[Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """Fit a small model on the real rows, register it as production, serve it with
    ``homeval serve`` (a subprocess on a free port), stop it afterwards."""
    probe = subprocess.run([str(HOMEVAL), "serve", "--help"], capture_output=True, text=True)
    if probe.returncode != 0:
        missing("`homeval serve` (the predictor) is not available")
    home = tmp_path_factory.mktemp("platform")
    mlflow_uri = f"sqlite:///{home / 'mlflow.db'}"
    env = {
        **without_platform_settings(),
        "HOMEVAL_HOME": str(home),
        "MLFLOW_TRACKING_URI": mlflow_uri,
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    registered = subprocess.run(
        [str(REPO / ".venv/bin/python"), "-m", "tests.ui.register_model"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert registered.returncode == 0, registered.stderr[-3000:]
    version = registered.stdout.strip().splitlines()[-1]
    port = free_port()
    child = subprocess.Popen(
        [str(HOMEVAL), "serve", "--port", str(port)],
        env=env,
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, child, timeout_s=120)
        yield Platform(home=home, mlflow_uri=mlflow_uri, predictor_url=url, version=version)
    finally:
        child.terminate()
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@pytest.fixture(scope="session")
def real_rows(realtor_files: list[Path]) -> Any:
    """Real listings parsed as the store keeps them (for places to suggest)."""
    return parse_frame(read_listings_csv(realtor_files[0])).rows


def _seed(url: str, rows: Any) -> str:
    from homeval.data.schema import ParsedBatch

    store = Store(url)
    store.init()
    store.ingest_batch(ParsedBatch(rows=rows, rejected=[]), batch_id="seed")
    store.dispose()
    return url


@pytest.fixture
def seeded_store(tmp_path: Path, real_rows: Any) -> str:
    """A SQLite store holding real teacher rows; returns its URL."""
    return _seed(f"sqlite:///{tmp_path / 'ui-store.db'}", real_rows)


@pytest.fixture
def any_seeded_store(store_url: str, real_rows: Any) -> str:
    """The same on both back ends (SQLite and a fresh PostgreSQL database)."""
    return _seed(store_url, real_rows)


@dataclass
class RunningUI:
    url: str
    services: Any


@pytest.fixture
def run_ui() -> Iterator[Any]:
    """Start the UI (``ui.server.create_app``) in a thread on a free port; stop it after."""
    import uvicorn

    from ui.handlers import Services
    from ui.server import create_app

    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(settings: Settings) -> RunningUI:
        services = Services.from_settings(settings)
        app = create_app(settings, services)
        port = free_port()
        # gradio_client leaves its event stream open: without a bound on the graceful
        # shutdown every API test waited out the 20 s join below
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                timeout_graceful_shutdown=2)  # fmt: skip
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive(), "the UI server stopped while starting"
            assert time.monotonic() < deadline, "the UI server did not start in 60 s"
            time.sleep(0.05)
        servers.append((server, thread))
        return RunningUI(url=f"http://127.0.0.1:{port}", services=services)

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        missing("Debian chromium is not installed (make system-deps installs it)")
    return path
