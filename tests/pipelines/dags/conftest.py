"""The DAG's tests run in .venv-airflow (`make test` calls them), never in the main venv.

Airflow reads its configuration when it is first imported, so this file points
AIRFLOW_HOME at a fresh temporary folder (SQLite metadata database, no examples, the
repository's DAGs folder) before anything imports airflow.  In an environment without
Airflow (the main .venv, which cannot hold it next to kserve) nothing here is collected.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port, missing
from tests.packages.contract.kfp_stub import KfpStub, serve_kfp_stub

REPO = Path(__file__).resolve().parents[3]
DAGS_FOLDER = REPO / "pipelines" / "dags"
DAG_FILE = DAGS_FOLDER / "homeval_pipeline.py"
PIPELINE_PACKAGE = REPO / "pipelines" / "house_price_pipeline.yaml"
PLATFORM_BIN = REPO / ".venv" / "bin" / "homeval"

if importlib.util.find_spec("airflow") is None:
    collect_ignore_glob = ["test_*.py"]
else:
    _AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="homeval-airflow-"))
    atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(_AIRFLOW_HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(_AIRFLOW_HOME / "logs"),
        }
    )
    # the helpers the DAG imports live next to it, as Airflow's DAGs folder puts them on sys.path
    sys.path.insert(0, str(DAGS_FOLDER))


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata database (SQLite) for this test session."""
    from airflow.utils import db

    db.resetdb(skip_init=False)
    return Path(os.environ["AIRFLOW_HOME"])


class LogLines(logging.Handler):
    """Collects what a logger logged, and can act on a line the moment it is logged."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.on_line: Callable[[str], None] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        self.lines.append(line)
        if self.on_line is not None:
            self.on_line(line)

    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def task_log() -> Iterator[tuple[logging.Logger, LogLines]]:
    """A logger standing in for the task log, with everything it received."""
    logger = logging.getLogger(f"test.homeval_trigger.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = LogLines()
    logger.addHandler(handler)
    yield logger, handler
    logger.removeHandler(handler)


@pytest.fixture
def fake_platform(tmp_path: Path) -> Callable[[str], Path]:
    """Write a stand-in `homeval` executable (a shell script) and return its path.

    Only for what the real CLI must never do on purpose (fail, hang, break its contract).
    """
    counter = iter(range(1_000))

    def write(body: str) -> Path:
        path = tmp_path / f"fake-bin-{next(counter)}" / "homeval"
        path.parent.mkdir()
        path.write_text("#!/bin/sh\n" + textwrap.dedent(body).lstrip())
        path.chmod(0o755)
        return path

    return write


@pytest.fixture(scope="session")
def stand_in_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small compiled pipeline whose parameters the tests choose (e.g. one it lacks)."""
    from tests.pipelines.dags.stand_in_pipeline import compile_stand_in

    return compile_stand_in(tmp_path_factory.mktemp("kfp") / "stand_in.yaml")


@pytest.fixture(scope="session")
def compiled_pipeline() -> Path:
    """The committed pipelines/house_price_pipeline.yaml: what cluster mode really submits."""
    assert PIPELINE_PACKAGE.is_file(), f"{PIPELINE_PACKAGE} is missing: homeval pipeline compile"
    return PIPELINE_PACKAGE


@pytest.fixture
def kfp_stub() -> Iterator[KfpStub]:
    with serve_kfp_stub() as stub:
        yield stub


@pytest.fixture
def platform_bin() -> Path:
    """The real `homeval` of the platform's environment (.venv, built by `make install`)."""
    if not PLATFORM_BIN.exists():
        missing(f"the platform's CLI is not installed at {PLATFORM_BIN} (make install)")
    return PLATFORM_BIN


@pytest.fixture
def feed(platform_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The platform's feed simulator (`homeval datasource serve`) on a free loopback port.

    Small batches of the built-in generator, so a whole pipeline run stays short; the
    platform's children find it through HOMEVAL_FEED_URL.
    """
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "HOMEVAL_DATASOURCE_BATCH_SIZE": "1000",
        "HOMEVAL_DATASOURCE_BATCHES": "10",
    }
    log_path = tmp_path / "feed.log"
    with log_path.open("w") as log_file:
        proc = subprocess.Popen(
            [str(platform_bin), "datasource", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the feed simulator exited: {log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the feed simulator did not answer in 60 s: {log_path.read_text()}")
            time.sleep(0.2)
        monkeypatch.setenv("HOMEVAL_FEED_URL", url)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
