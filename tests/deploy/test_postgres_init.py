"""The PostgreSQL init script of the cluster, run the way the official image runs it, on
a private PostgreSQL instance; then the pipeline dashboard's SQL, as Grafana's role.

A private instance (initdb on a free port, as the ``postgres`` OS user) because the
script creates cluster-wide objects (databases, a role) that would collide on the shared
test server.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from homeval.data.listing_parser import parse_rows
from homeval.data.store import Store
from tests.conftest import REPO, free_port, missing
from tests.deploy import dashboards

INIT_SCRIPT = REPO / "manifests/base/postgres/init/10-homeval.sh"
OWNER = "homeval"
READER_PASSWORD = "reader-test-password"  # pragma: allowlist secret
ROW = [None, "sold", 250000, 3, 2, 0.2, None, "Hartford", "Connecticut", "06103", 1500,
       "2019-06-28"]  # fmt: skip


def _pg_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not versions:
        missing("PostgreSQL server binaries not found under /usr/lib/postgresql")
    return versions[-1].parent


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[dict[str, str]]:
    """A throw-away PostgreSQL server initialised like the image's entrypoint does."""
    bindir = _pg_bin()
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        missing("no 'postgres' OS user to run a private PostgreSQL as")
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    work = Path(tempfile.mkdtemp(prefix="homeval-pginit-"))
    os.chown(work, user.pw_uid, user.pw_gid)
    data, sockets, port = work / "data", work, str(free_port())
    subprocess.run(
        [*as_postgres, str(bindir / "initdb"), "-D", str(data), "-U", OWNER, "--auth=trust"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = subprocess.Popen(
        [*as_postgres, str(bindir / "postgres"), "-D", str(data), "-p", port,
         "-k", str(sockets), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    env = {**os.environ, "PGHOST": str(sockets), "PGPORT": port}
    try:
        for _ in range(100):
            ready = subprocess.run(
                [str(bindir / "pg_isready"), "-h", str(sockets), "-p", port], capture_output=True
            )
            if ready.returncode == 0:
                break
            time.sleep(0.1)
        else:
            pytest.fail("private PostgreSQL did not start")
        subprocess.run(["createdb", "-U", OWNER, OWNER], env=env, check=True)
        yield {"port": port, "sockets": str(sockets), **env}
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def initialised(private_postgres: dict[str, str]) -> dict[str, str]:
    env = {
        **private_postgres,
        "POSTGRES_USER": OWNER,
        "POSTGRES_DB": OWNER,
        "GRAFANA_DB_PASSWORD": READER_PASSWORD,
    }
    result = subprocess.run(["bash", str(INIT_SCRIPT)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return private_postgres


def _url(user: str, database: str, env: dict[str, str]) -> str:
    return f"postgresql+psycopg://{user}@127.0.0.1:{env['port']}/{database}"


def test_script_creates_the_databases_and_the_store_schemas(initialised: dict[str, str]) -> None:
    engine = sa.create_engine(_url(OWNER, OWNER, initialised))
    with engine.connect() as conn:
        databases = set(conn.execute(sa.text("select datname from pg_database")).scalars())
        schemas = set(conn.execute(sa.text("select nspname from pg_namespace")).scalars())
    engine.dispose()
    assert {"homeval", "mlflow", "airflow"} <= databases
    assert {"rawdata", "cleandata", "trainlogs"} <= schemas


@pytest.fixture(scope="module")
def filled(initialised: dict[str, str]) -> dict[str, str]:
    """The store's own tables created by homeval (as the owner) and a little history."""
    store = Store(_url(OWNER, OWNER, initialised))
    store.init()
    store.ingest_batch(parse_rows([ROW, ROW, ["junk"]]), batch_id="b1", group_number=1)
    store.log_training(step="drift", status="drift", message="price moved",
                       metrics={"drift_share": 0.4})  # fmt: skip
    store.log_training(step="train", status="trained", message="LightGBM best",
                       metrics={"mdape": 0.15, "r2_log": 0.83, "within_10pct": 0.36},
                       model_version="1", run_ids={"lightgbm": "abc"})  # fmt: skip
    store.log_training(step="promote", status="promoted", message="first model",
                       model_version="1", pipeline_run="run-1")  # fmt: skip
    store.engine.dispose()
    return initialised


def test_grafana_role_reads_logs_and_raw_batches_and_writes_nothing(
    filled: dict[str, str],
) -> None:
    engine = sa.create_engine(_url("grafana_reader", OWNER, filled))
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from trainlogs.logs")).scalar_one() == 3
        assert conn.execute(sa.text("select sum(rows) from rawdata.batches")).scalar_one() == 2
    for statement in (
        "delete from trainlogs.logs",
        "insert into trainlogs.logs (time, step, status, message) values (now(), 'x', 'x', 'x')",
        "select count(*) from cleandata.houses",
    ):
        with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError):
            conn.execute(sa.text(statement))
    engine.dispose()


@pytest.mark.parametrize(
    "query",
    [q for f in dashboards.dashboard_files() for q in dashboards.queries(f)
     if q.datasource == "homeval-postgres"],
    ids=str,
)  # fmt: skip
def test_pipeline_dashboard_sql_returns_rows_as_grafana(
    query: dashboards.Query, filled: dict[str, str]
) -> None:
    engine = sa.create_engine(_url("grafana_reader", OWNER, filled))
    with engine.connect() as conn:
        rows = conn.execute(sa.text(dashboards.sql(query.text))).fetchall()
    engine.dispose()
    assert rows, f"no rows: {query}"
