"""``homeval generate``, ``collect`` and ``datasource serve`` as a user runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from typer.testing import CliRunner

from homeval.cli import app, data
from homeval.data.generator.listings import generate
from homeval.data.listing_parser import parse_frame, read_listings_csv
from homeval.data.schema import LISTING_FIELDS
from homeval.data.store import Store
from homeval.data.tables import raw_batches, raw_houses
from tests.conftest import free_port
from tests.datasource.server import running_feed

URL_WITH_PASSWORD = "postgresql://u:s3cret@127.0.0.1:1/x"  # pragma: allowlist secret

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


# --- generate -------------------------------------------------------------------------------


def test_generate_csv_is_the_generators_rows(tmp_path: Path) -> None:
    out = tmp_path / "rows.csv"
    code, output = invoke("generate", "--rows", "1500", "--out", str(out), "--seed", "4")
    assert code == 0, output
    assert "wrote 1,500 listings" in output
    written = read_listings_csv(out)
    assert list(written.columns) == list(LISTING_FIELDS)
    assert len(written) == 1500
    expected = parse_frame(generate(1500, seed=4)).rows.reset_index(drop=True)
    got = parse_frame(written).rows.reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)


def test_generate_parquet_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "GENERATE_CHUNK", 1000)
    out = tmp_path / "deep/rows.parquet"
    code, output = invoke("generate", "-n", "2500", "-o", str(out), "--clean")
    assert code == 0, output
    frame = pd.read_parquet(out)
    assert len(frame) == 2500
    assert frame["price"].dtype == "float64"
    assert parse_frame(frame).rejected == []  # --clean: no malformed rows
    assert not list(out.parent.glob(".*part"))  # no temporary file left


def test_generate_drift_options(tmp_path: Path) -> None:
    out = tmp_path / "drift.csv"
    code, output = invoke(
        "generate", "-n", "2000", "-o", str(out), "--states", "TX:1", "--price-shift", "0.5"
    )
    assert code == 0, output
    rows = parse_frame(read_listings_csv(out)).rows
    assert set(rows["state"]) == {"Texas"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-n", "10", "-o", "rows.json"], "--out must end in .csv or .parquet"),
        (["-n", "0", "-o", "rows.csv"], "--rows"),
        (["-n", "ten", "-o", "rows.csv"], "--rows"),
        (["-n", "10", "-o", "rows.csv", "--states", "Atlantis:1"], "unknown state 'Atlantis'"),
        (["-n", "10", "-o", "rows.csv", "--price-shift", "-1"], "--price-shift must be > -1"),
        (["-n", "10"], "--out"),
    ],
)
def test_generate_bad_input_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    os.chdir(tmp_path)
    code, output = invoke("generate", *args)
    assert code == 2
    assert message in output
    assert "Traceback" not in output


# --- collect ----------------------------------------------------------------------------------


@pytest.fixture
def store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("HOMEVAL_DATABASE_URL", url)
    monkeypatch.setenv("HOMEVAL_FEED_BACKOFF_S", "0")
    return Store(url)


def test_collect_fetches_batches_into_the_store(
    store_env: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_feed(datasource_batches=3, datasource_fail_rate=0.3) as (url, _):
        monkeypatch.setenv("HOMEVAL_FEED_URL", url)
        monkeypatch.setenv("HOMEVAL_FEED_RETRIES", "30")
        code, output = invoke("collect", "--batches", "2")
        assert code == 0, output
        assert "collected 2 batch(es)" in output
        code, output = invoke("collect", "--batches", "5")
        assert code == 0, output
        assert "collected 1 batch(es)" in output
        assert "the feed is exhausted" in output
        code, output = invoke("collect", "--batches", "5", "--restart")
        assert code == 0, output
        assert "3 batch(es) already stored" in output
    assert store_env.count(raw_batches) == 3
    assert store_env.count(raw_houses) > 140


def test_collect_other_group_and_day(store_env: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    with running_feed(datasource_batches=1) as (url, _):
        monkeypatch.setenv("HOMEVAL_FEED_URL", url)
        code, output = invoke("collect", "--group", "4", "--day", "Friday")
        assert code == 0, output
    groups = store_env.read_frame(raw_batches.select())
    assert (groups["group_number"].tolist(), groups["day"].tolist()) == ([4], ["Friday"])


def test_collect_with_the_feed_down_exits_1_saying_why(
    store_env: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("HOMEVAL_FEED_URL", url)
    monkeypatch.setenv("HOMEVAL_FEED_RETRIES", "1")
    code, output = invoke("collect")
    assert code == 1
    assert f"feed GET {url}/health" in output
    assert "connection failed" in output
    assert "Traceback" not in output
    after = output[output.index("error:") :]
    assert "collecting" not in after, "the progress bar must not be drawn below the error"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["collect", "--batches", "0"], {}, "--batches"),
        (["collect", "--group", "x"], {}, "--group"),
        (["collect"], {"HOMEVAL_FEED_RETRIES": "-1"}, "HOMEVAL_FEED_RETRIES"),
        (["collect"], {"HOMEVAL_DATABASE_URL": "nosuchdb://x"}, "cannot reach the store"),
        (["collect"], {"HOMEVAL_DATABASE_URL": "not a url"}, "not a database URL"),
        (
            ["collect"],
            {"HOMEVAL_DATABASE_URL": URL_WITH_PASSWORD},
            "cannot reach the store at postgresql://u:***@127.0.0.1:1/x",
        ),
    ],
)
def test_collect_bad_input_exits_2(
    store_env: Store,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, output = invoke(*args)
    assert code == 2, output
    assert message in output
    assert "Traceback" not in output


# --- datasource serve ---------------------------------------------------------------------------


def test_datasource_serve_runs_until_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "HOMEVAL_HOME": str(tmp_path), "HOMEVAL_DATASOURCE_BATCH_SIZE": "10"}
    command = [sys.executable, "-c", "from homeval.cli import main; main()"]
    child = subprocess.Popen(
        [*command, "datasource", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert child.poll() is None, child.communicate()[0]
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert health.json()["batch_size"] == 10
    finally:
        child.send_signal(signal.SIGTERM)
        output = child.communicate(timeout=20)[0]
    assert child.returncode in (0, -signal.SIGTERM), output
    assert "GET /health -> 200" in output


def test_datasource_serve_bad_csv_exits_2(tmp_path: Path) -> None:
    code, output = invoke("datasource", "serve", "--csv", str(tmp_path / "absent.csv"))
    assert code == 2
    assert "no such file" in output
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    code, output = invoke("datasource", "serve", "--csv", str(bad), "--port", "1")
    assert code == 2
    assert "missing column" in output


def test_datasource_serve_bad_port_exits_2() -> None:
    code, output = invoke("datasource", "serve", "--port", "70000")
    assert code == 2
    assert "--port" in output
