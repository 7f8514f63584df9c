"""The DAG's tests run in .venv-airflow (`make test` calls them), never in the main venv.

Airflow reads its configuration when it is first imported, so this file points
AIRFLOW_HOME at a fresh temporary folder (SQLite metadata database, no examples, the
repository's DAGs folder) before anything imports airflow.  In an environment without
Airflow (the main .venv, which cannot hold it next to kserve) nothing here is collected.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import shutil
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.dags.kfp_stub import KfpStub, serve_kfp_stub

REPO = Path(__file__).resolve().parents[2]
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
    """A small compiled pipeline whose parameters the tests know."""
    from tests.dags.stand_in_pipeline import compile_stand_in

    return compile_stand_in(tmp_path_factory.mktemp("kfp") / "stand_in.yaml")


@pytest.fixture(scope="session")
def compiled_pipeline(stand_in_pipeline: Path) -> Path:
    """The committed pipelines/house_price_pipeline.yaml (a stand-in until it exists)."""
    return PIPELINE_PACKAGE if PIPELINE_PACKAGE.is_file() else stand_in_pipeline


@pytest.fixture
def kfp_stub() -> Iterator[KfpStub]:
    with serve_kfp_stub() as stub:
        yield stub
