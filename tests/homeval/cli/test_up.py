"""``homeval up --data-only`` as a process: it fills the store, stops on Ctrl-C/SIGTERM
leaving no child behind, and a second run resumes where the first stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from homeval.data.store import Store
from homeval.data.tables import raw_batches, raw_houses
from tests.conftest import ctrl_c_reaches_it, free_port
from tests.datasource.server import running_feed

pytestmark = pytest.mark.slow
COMMAND = [sys.executable, "-m", "homeval", "up", "--data-only"]


def descendants(pid: int) -> set[int]:
    """Every living process below ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        children = {p for p, parent in parents.items() if parent in frontier}
        found |= children
        frontier = children
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Up:
    """A running ``homeval up`` with its output in files."""

    def __init__(self, tmp_path: Path, env: dict[str, str], run: int) -> None:
        self.out = tmp_path / f"up{run}.out"
        self.err = tmp_path / f"up{run}.err"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                COMMAND,
                env=env,
                stdout=out,
                stderr=err,
                cwd=tmp_path,
                text=True,
                preexec_fn=ctrl_c_reaches_it,
            )

    def output(self) -> str:
        return self.out.read_text() + self.err.read_text()

    def wait_for(self, text: str, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while text not in self.output():
            if self.process.poll() is not None:
                pytest.fail(f"homeval up exited ({self.process.returncode}):\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {text!r} after {timeout_s} s:\n{self.output()}")
            time.sleep(0.2)

    def stop(self, sig: signal.Signals) -> int:
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"homeval up did not stop on {sig.name}:\n{self.output()}")


@contextmanager
def up(tmp_path: Path, env: dict[str, str], run: int = 1) -> Iterator[Up]:
    process = Up(tmp_path, env, run)
    try:
        yield process
    finally:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HOMEVAL_HOME": str(tmp_path / "home"),
        "HOMEVAL_FEED_URL": f"http://127.0.0.1:{free_port()}",
        "HOMEVAL_DATASOURCE_BATCH_SIZE": "300",
        "HOMEVAL_DATASOURCE_BATCHES": "20",
        "HOMEVAL_COLLECT_MAX_BATCHES": "3",
        "COLUMNS": "200",
    }


def store_of(env: dict[str, str]) -> Store:
    return Store(f"sqlite:///{Path(env['HOMEVAL_HOME']) / 'homeval.db'}")


def test_up_fills_the_store_stops_cleanly_and_resumes(tmp_path: Path, env: dict[str, str]):
    feed = env["HOMEVAL_FEED_URL"]
    with up(tmp_path, env, run=1) as first:
        first.wait_for("Ctrl-C stops everything")
        children = descendants(first.process.pid)
        assert children, "the feed simulator should be a child of homeval up"
        assert httpx.get(f"{feed}/health").status_code == 200
        store = store_of(env)
        assert store.count(raw_batches) == 3
        rows = store.count(raw_houses)
        assert rows > 850
        code = first.stop(signal.SIGINT)
    assert code == 0, first.output()
    assert "stopped: no service left running" in first.output()
    assert not [p for p in children if alive(p)], "a child outlived homeval up"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{feed}/health", timeout=2)

    with up(tmp_path, env, run=2) as second:  # resumes: new batches, nothing twice
        second.wait_for("Ctrl-C stops everything")
        children = descendants(second.process.pid)
        code = second.stop(signal.SIGTERM)
    assert code == 0, second.output()
    assert not [p for p in children if alive(p)]
    numbers = store.read_frame(sa.select(raw_batches.c.batch_number))["batch_number"]
    assert sorted(numbers) == [0, 1, 2, 3, 4, 5]
    assert store.count(raw_houses) > rows
    assert "0 batch(es) already stored" in second.output()


def test_up_uses_a_feed_that_already_runs(tmp_path: Path, env: dict[str, str]) -> None:
    with running_feed(datasource_batches=5) as (url, _):
        env["HOMEVAL_FEED_URL"] = url
        with up(tmp_path, env) as running:
            running.wait_for("Ctrl-C stops everything")
            assert not descendants(running.process.pid)  # nothing started
            assert running.stop(signal.SIGINT) == 0
        assert f"feed already running at {url}" in running.output()
        assert store_of(env).count(raw_batches) == 3


def test_up_reports_a_feed_that_fails_to_start(tmp_path: Path, env: dict[str, str]) -> None:
    bad = tmp_path / "not-listings.csv"
    bad.write_text("id,value\n1,2\n")
    env["HOMEVAL_DATASOURCE_CSV"] = str(bad)
    with up(tmp_path, env) as failing:
        code = failing.process.wait(timeout=90)
    output = failing.output()
    assert code == 1, output
    assert "feed exited with code 2 before ready" in output
    assert "missing column" in output  # the child's own last log lines
    assert "Traceback" not in output


def test_up_starts_a_feed_only_where_it_can(tmp_path: Path, env: dict[str, str]) -> None:
    env["HOMEVAL_FEED_URL"] = "http://127.0.0.1"  # no port to give the simulator
    with up(tmp_path, env) as refused:
        code = refused.process.wait(timeout=60)
    assert code == 2
    assert "only starts a feed on this machine" in refused.output()


def test_up_prepares_the_store_in_a_child_and_keeps_pandas_out(tmp_path: Path) -> None:
    """The supervisor lives as long as the platform: the store's module (pandas) is loaded
    by ``homeval db init`` in a child, whose words and exit code ``up`` passes on."""
    script = (
        "import sys, typer; from homeval.cli.up import _prepare_store; "
        "from homeval.platform.settings import Settings\n"
        "try: print(_prepare_store(Settings(), here=False)); print('pandas' in sys.modules)\n"
        "except typer.Exit as stop: sys.exit(stop.exit_code)"
    )
    home = tmp_path / "home"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "HOMEVAL_HOME": str(home), "COLUMNS": "300"},
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("✓ store ready: sqlite:///"), lines
    assert lines[-1] == "False", lines
    assert store_of({"HOMEVAL_HOME": str(home)}).count(raw_batches) == 0  # tables made

    bad = {**os.environ, "HOMEVAL_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=bad, check=False)  # fmt: skip
    assert done.returncode == 2
    assert "cannot reach the store at postgresql://nobody@127.0.0.1:1/none" in done.stderr
    assert "Traceback" not in done.stderr
