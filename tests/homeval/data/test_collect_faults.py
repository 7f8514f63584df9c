"""Collection loses no batch and stores none twice, whatever dies: real processes killed
with SIGKILL at random points, a real PostgreSQL stopped in the middle of a collect.

The collector (``homeval collect``, a child process) talks over loopback to the feed
simulator; after the faults one more run finishes the job, and the store must then hold
exactly what the feed's data holds — every batch, each once, with its rows and rejects.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from homeval.data.listing_parser import parse_rows
from homeval.data.store import Store, batch_key
from homeval.data.tables import raw_batches, raw_houses, raw_rejects
from tests.conftest import free_port, missing, on_path, without_platform_settings
from tests.datasource.server import running_feed

GROUP, DAY = 1, "Tuesday"
COLLECT = [sys.executable, "-m", "homeval", "collect", "--batches", "1000"]


def feed_holds(app: Any) -> dict[str, tuple[int, int]]:
    """batch id → (valid rows, rejected rows) for every batch of the feed's data."""
    feed = app.state.feed
    held = {}
    for number in range(feed.source.batches):
        rows = feed.source.batch(GROUP, DAY, number, feed.drift)
        parsed = parse_rows(rows)
        held[batch_key(rows)] = (len(parsed.rows), len(parsed.rejected))
    return held


def assert_store_holds(store: Store, held: dict[str, tuple[int, int]]) -> None:
    """Every batch once, with all its rows and rejects and no row twice."""
    batches = store.read_frame(sa.select(raw_batches.c.batch_id))["batch_id"]
    assert sorted(batches) == sorted(held), "a batch is missing or foreign"
    rows = store.read_frame(
        sa.select(raw_houses.c.batch_id, sa.func.count().label("n")).group_by(raw_houses.c.batch_id)
    )
    rejects = store.read_frame(
        sa.select(raw_rejects.c.batch_id, sa.func.count().label("n")).group_by(
            raw_rejects.c.batch_id
        )
    )
    stored_rows = dict(zip(rows["batch_id"], rows["n"], strict=True))
    stored_rejects = dict(zip(rejects["batch_id"], rejects["n"], strict=True))
    for key, (valid, rejected) in held.items():
        assert (stored_rows.get(key, 0), stored_rejects.get(key, 0)) == (valid, rejected), key


def collector_env(feed_url: str, database_url: str, home: Path) -> dict[str, str]:
    return {
        **without_platform_settings(),
        "HOMEVAL_HOME": str(home),
        "HOMEVAL_FEED_URL": feed_url,
        "HOMEVAL_DATABASE_URL": database_url,
        "HOMEVAL_FEED_GROUP": str(GROUP),
        "HOMEVAL_FEED_DAY": DAY,
        "HOMEVAL_FEED_RETRIES": "2",
        "HOMEVAL_FEED_BACKOFF_S": "0.05",
    }


def wait_for_batches(store: Store, more_than: int, process: subprocess.Popen[str]) -> int:
    """Wait until the collector has stored more than ``more_than`` batches."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        stored = store.count(raw_batches)
        if stored > more_than:
            return stored
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"the collector ended early ({process.returncode}): {output}")
        time.sleep(0.02)
    pytest.fail("the collector stored nothing within 60 s")


def test_kill_9_at_random_points_loses_nothing_and_stores_nothing_twice(
    store_url: str, tmp_path: Path
) -> None:
    store = Store(store_url)
    store.init()
    dice = random.Random(20261207)
    settings = {"datasource_batch_size": 300, "datasource_batches": 14, "datasource_latency_s": 0.1}
    with running_feed(**settings) as (url, app):
        env = collector_env(url, store_url, tmp_path)
        kills = 0
        while kills < 6:
            before = store.count(raw_batches)
            child = subprocess.Popen(COLLECT, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)  # fmt: skip
            wait_for_batches(store, before, child)
            # anywhere: mid-request, mid-transaction, between batches
            time.sleep(dice.uniform(0.0, 0.25))
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
            kills += 1
        # a third party looks at the feed the way the seed's README shows, meanwhile
        assert httpx.get(f"{url}/data", params={"group_number": GROUP, "day": DAY}).is_success
        done = subprocess.run(COLLECT, env=env, capture_output=True, text=True,
                              timeout=120, check=False)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert "the feed is exhausted" in " ".join(done.stdout.split())  # rich wraps lines
        held = feed_holds(app)
    assert store.count(raw_batches) == 14
    assert_store_holds(store, held)
    store.dispose()


# --- a PostgreSQL stopped mid-collect --------------------------------------------------------


@pytest.fixture
def throwaway_postgres() -> Iterator[tuple[str, list[str], list[str]]]:
    """A PostgreSQL cluster of its own (pg_createcluster): its URL, its stop and start."""
    create = on_path("pg_createcluster", "Debian's postgresql-common")
    if os.geteuid() != 0:
        missing("pg_createcluster needs root here (it makes a cluster owned by postgres)")
    versions = sorted(p.name for p in Path("/usr/lib/postgresql").glob("*") if p.name.isdigit())
    if not versions:
        missing("no PostgreSQL server under /usr/lib/postgresql")
    version, name, port = versions[-1], f"homeval-{uuid.uuid4().hex[:8]}", free_port()
    made = subprocess.run(
        [create, version, name, "-p", str(port), "--start", "--", "--auth=trust"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if made.returncode != 0:
        missing(f"pg_createcluster failed: {made.stderr.strip()}")
    control = ["pg_ctlcluster", "--skip-systemctl-redirect", version, name]
    try:
        yield (
            f"postgresql://postgres@127.0.0.1:{port}/postgres",
            [*control, "stop", "-m", "immediate"],
            [*control, "start"],
        )
    finally:
        subprocess.run(["pg_dropcluster", "--stop", version, name], capture_output=True,
                       check=False)  # fmt: skip


def test_a_postgresql_stopped_mid_collect_loses_no_batch(
    throwaway_postgres: tuple[str, list[str], list[str]], tmp_path: Path
) -> None:
    database_url, stop, start = throwaway_postgres
    store = Store(database_url)
    store.init()
    settings = {"datasource_batch_size": 300, "datasource_batches": 10, "datasource_latency_s": 0.1}
    with running_feed(**settings) as (url, app):
        env = collector_env(url, database_url, tmp_path)
        child = subprocess.Popen(COLLECT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)  # fmt: skip
        stored = wait_for_batches(store, 2, child)
        store.dispose()  # the server goes down under every connection
        subprocess.run(stop, check=True, capture_output=True)
        output, _ = child.communicate(timeout=120)
        assert child.returncode == 1, output
        assert "error:" in output, output
        assert "Traceback" not in output, output
        assert "not stored" in output or "cannot reach the store" in output, output
        subprocess.run(start, check=True, capture_output=True)
        done = subprocess.run(COLLECT, env=env, capture_output=True, text=True, timeout=120,
                              check=False)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        held = feed_holds(app)
    assert stored < 10, "the database must stop before the collect is over"
    assert_store_holds(store, held)
    store.dispose()
