"""Fixtures shared by every test: real services, real data, isolated local state."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.scratch_db import scratch_database  # SQLAlchemy only: the DAG venv has it

REPO = Path(__file__).resolve().parents[1]
CONTRACT = REPO / "packages" / "contract" / "src" / "homeval_contract"
"""The source of what the platform shares with the DAG (images without pip copy it)."""
REALTOR_DIR = Path(os.environ.get("HOMEVAL_TEST_REALTOR_DIR", REPO.parent / "shared/data/realtor"))
"""The north-eastern real rows (the leading rows of the Kaggle file: CT, NY, NH, RI, VT, PR, VI)."""
REALTOR_NATIONAL_DIR = Path(
    os.environ.get(
        "HOMEVAL_TEST_REALTOR_NATIONAL_DIR", REPO.parent / "shared/data/realtor-national"
    )
)
"""A uniform random sample of the whole national file (every state, mixed statuses)."""


def realtor_csvs() -> list[Path]:
    """Every real CSV, the north-eastern folder's first (some tests pick files by position)."""
    return [*sorted(REALTOR_DIR.glob("*.csv")), *sorted(REALTOR_NATIONAL_DIR.glob("*.csv"))]


POSTGRES_URL = os.environ.get(
    "HOMEVAL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_SERVICES = os.environ.get("HOMEVAL_TEST_REQUIRE_SERVICES") == "1"


def is_platform_setting(name: str) -> bool:
    """A variable that configures homeval or MLflow, as opposed to one that tells the tests
    where their data and services are (``HOMEVAL_TEST_*``): a child process or a test gets
    its own platform settings, never the developer's, but must still find the real rows."""
    return name.startswith("MLFLOW_") or (
        name.startswith("HOMEVAL_") and not name.startswith("HOMEVAL_TEST_")
    )


def without_platform_settings() -> dict[str, str]:
    """This process's environment for a child process, minus every platform setting."""
    return {k: v for k, v in os.environ.items() if not is_platform_setting(k)}


def missing(what: str) -> None:
    """Skip with a clear reason locally; fail in CI, where every service must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} (CI requires it)")
    pytest.skip(what)


def on_path(command: str, hint: str) -> str:
    """Path of a command the tests run (a Debian package, kubectl), or skip/fail saying
    how to get it."""
    found = shutil.which(command)
    if found is None:
        missing(f"{command} not found on PATH ({hint})")
    return str(found)


def image_venv(requirements: Path, venv: Path) -> None:
    """A fresh venv holding exactly an image's pinned requirements, as its Dockerfile does.

    uv's cache first (no network); on a fresh machine the cache holds the lock's wheels but
    not the index pages an install by name needs, so then PyPI, as the image build would.
    """
    uv = shutil.which("uv") or str(Path.home() / ".local/bin/uv")
    if not Path(uv).exists():
        missing("uv not found (make install puts it on PATH)")
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": str(venv)}
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=env)
    install = [uv, "pip", "install", "-q", "-r", str(requirements)]
    for command in ([*install, "--offline"], install):
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode == 0:
            return
    missing(f"cannot install {requirements.name} from uv's cache or PyPI: {done.stderr[-300:]}")


def ctrl_c_reaches_it() -> None:
    """``preexec_fn`` for a child the test stops with SIGINT, as Ctrl-C in a terminal would.

    A shell that starts the test run in the background (``make test &``, CI runners) makes
    it ignore SIGINT, children inherit that, and Python then never raises
    KeyboardInterrupt: the child would not stop the way a user's Ctrl-C stops it.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def http_server_on(port: int) -> Iterator[int]:
    """A plain ``python -m http.server`` answering on ``port`` (another process holding
    it, as another instance's server would); yields its pid."""
    import httpx

    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "http.server did not answer"
                time.sleep(0.05)
        yield server.pid
    finally:
        server.kill()
        server.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path) -> Iterator[Path]:
    """Every test gets its own HOMEVAL_HOME and a restored environment afterwards
    (MLflow writes MLFLOW_TRACKING_URI into os.environ itself), so nothing leaks into the
    developer's state or the next test."""
    saved = dict(os.environ)
    for name in list(os.environ):  # nothing a fixture of wider scope set leaks in either
        if is_platform_setting(name):
            del os.environ[name]
    home = tmp_path / "homeval-home"
    os.environ["HOMEVAL_HOME"] = str(home)
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    try:
        yield home
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def realtor_dir() -> Path:
    if not REALTOR_DIR.is_dir() or not list(REALTOR_DIR.glob("*.csv")):
        missing(f"real Realtor rows not found in {REALTOR_DIR} (set HOMEVAL_TEST_REALTOR_DIR)")
    return REALTOR_DIR


@pytest.fixture(scope="session")
def realtor_national_dir() -> Path:
    if not REALTOR_NATIONAL_DIR.is_dir() or not list(REALTOR_NATIONAL_DIR.glob("*.csv")):
        missing(
            f"national real Realtor rows not found in {REALTOR_NATIONAL_DIR} "
            "(set HOMEVAL_TEST_REALTOR_NATIONAL_DIR)"
        )
    return REALTOR_NATIONAL_DIR


@pytest.fixture(scope="session")
def realtor_national_files(realtor_national_dir: Path) -> list[Path]:
    """The national sample's CSVs (one file today)."""
    return sorted(realtor_national_dir.glob("*.csv"))


@pytest.fixture(scope="session")
def realtor_files(realtor_dir: Path, realtor_national_dir: Path) -> list[Path]:
    """Every real CSV of both folders (north-eastern first)."""
    return realtor_csvs()


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """URL of the real PostgreSQL server, or a skip/fail naming how to provide one."""
    try:
        engine = sa.create_engine(sa.make_url(POSTGRES_URL).set(drivername="postgresql+psycopg"))
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:  # any connection failure means: no server here
        missing(f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}")
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty database on the real server, dropped afterwards."""
    with scratch_database(postgres_server_url, prefix="homeval_test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run a store test on both back ends: the embedded SQLite and a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_url"))


@contextlib.contextmanager
def mlflow_at(url: str) -> Iterator[None]:
    """This process's MLflow, tracking *and* registry, at ``url`` for the block: an earlier
    test of the session may have set either (a registry URI left behind would send a
    registration, or a ``models:/`` lookup, to another registry). Afterwards MLflow's
    state is exactly as before — the URIs it holds and the variables its setters write —
    so later tests that configure MLflow through the environment still can."""
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_state
    from mlflow.tracking._tracking_service import utils as tracking_state

    keys = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    saved_env = {key: os.environ.get(key) for key in keys}
    saved = tracking_state._tracking_uri, registry_state._registry_uri
    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    try:
        yield
    finally:
        tracking_state._tracking_uri, registry_state._registry_uri = saved
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
