"""Batches lost when the collector dies: homeval's collector vs the seed protocol's.

The seed project's collector asked the feed for "the next batch" (``GET /data`` without a
number) and stored what came; the feed moves its cursor when it hands a batch out. homeval's
collector keeps its position in the store, in the transaction that stores the batch, and
asks by number. Both run here against the same feed simulator (same seed, same batches),
into their own fresh database, through the same faults, in one run:

- ``kill``: the collector process is SIGKILLed at random points (the same points for
  both: a kill after the store has gained a batch, plus a random 0-250 ms), then run once
  more to the end;
- ``dbstop``: the store's PostgreSQL (a cluster of its own, made with Debian's
  ``pg_createcluster``; needs root) stops mid-collect and comes back; then one more run;
- ``curl``: another client GETs ``/data`` now and then during the collection (the seed's
  README invites a curl to look at the feed);
- ``5xx``: the feed answers 20 % of requests with 503 (the client retries).

Lost = batches of the feed's data not in the store at the end; twice = batches stored more
than once (the store's content hash makes that impossible for both, so it checks the
bench rather than the collectors).

    .venv/bin/python bench/reliability/collect_faults.py [--kills 6] [--batches 16]
        [--batch-size 300] [--seed 20261207] [--url postgresql://...] [--write RESULTS.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import uvicorn

from datasource.app import create_app
from homeval.data.collect import collect, store_batch
from homeval.data.feed_client import FeedBatch, FeedClient
from homeval.data.listing_parser import parse_rows
from homeval.data.store import Store, batch_key
from homeval.data.tables import raw_batches, raw_houses
from homeval.platform.settings import Settings
from tests.scratch_db import scratch_database

HERE = Path(__file__).resolve().parent
GROUP, DAY = 1, "Tuesday"
DEFAULT_URL = os.environ.get(
    "HOMEVAL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
COLLECTORS = ("seed protocol", "homeval")


# --- the two collectors, run as child processes ----------------------------------------------


def run_collector(kind: str, feed_url: str, database_url: str) -> None:
    """Collect every batch of (GROUP, DAY) into the store, the way ``kind`` does."""
    store = Store(database_url)
    store.init()
    with FeedClient(feed_url, timeout_s=10, retries=20, backoff_s=0.02) as client:
        if kind == "homeval":
            collect(store, client, group=GROUP, day=DAY, max_batches=10**6)
            return
        while isinstance(answer := client.fetch(GROUP, DAY), FeedBatch):  # the next batch
            store_batch(store, answer, source=feed_url)


# --- the feed ----------------------------------------------------------------------------


@contextmanager
def running_feed(**settings: Any) -> Iterator[tuple[str, Any]]:
    app = create_app(Settings(**settings))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def feed_batches(app: Any) -> dict[str, int]:
    """batch id -> valid rows, for every batch of the feed's data."""
    feed = app.state.feed
    batches = [feed.source.batch(GROUP, DAY, n, feed.drift) for n in range(feed.source.batches)]
    return {batch_key(rows): len(parse_rows(rows).rows) for rows in batches}


# --- one scenario ------------------------------------------------------------------------


@dataclass
class Outcome:
    scenario: str
    collector: str
    batches: int
    lost: int
    twice: int
    rows_lost: int
    seconds: float


def child(kind: str, feed_url: str, database_url: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, __file__, "--child", kind, "--feed", feed_url, "--db", database_url]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=HERE.parents[1])  # fmt: skip


def stored(store: Store) -> int:
    return store.count(raw_batches)


class Cluster:
    """A PostgreSQL cluster of its own (Debian's pg_createcluster), to stop mid-collect."""

    def __init__(self) -> None:
        versions = sorted(p.name for p in Path("/usr/lib/postgresql").glob("*") if p.name.isdigit())
        self.version, self.name = versions[-1], f"homeval-bench-{os.getpid()}"
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        create = ["pg_createcluster", self.version, self.name, "-p", str(self.port), "--start"]
        subprocess.run([*create, "--", "--auth=trust"], check=True, capture_output=True)
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        control = ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name]
        subprocess.run([*control, *args], check=True, capture_output=True)

    def stop(self) -> None:
        self._ctl("stop", "-m", "immediate")

    def start(self) -> None:
        self._ctl("start")

    def drop(self) -> None:
        subprocess.run(["pg_dropcluster", "--stop", self.version, self.name], capture_output=True)


postgres: Cluster


def scenario(
    name: str, kind: str, database_url: str, args: argparse.Namespace, dice: random.Random
) -> Outcome:
    settings: dict[str, Any] = {
        "datasource_batch_size": args.batch_size,
        "datasource_batches": args.batches,
        "datasource_latency_s": 0.05,
        "datasource_seed": args.seed,
        "datasource_fail_rate": 0.2 if name == "5xx" else 0.0,
    }
    store = Store(database_url)
    store.init()
    started = time.perf_counter()
    with running_feed(**settings) as (url, app):
        stop = threading.Event()

        def curl() -> None:  # another client, looking at the feed
            while not stop.wait(0.4):
                httpx.get(f"{url}/data", params={"group_number": GROUP, "day": DAY}, timeout=10)

        looker = threading.Thread(target=curl, daemon=True)
        if name == "curl":
            looker.start()
        if name == "dbstop":  # the store's server stops mid-collect, then comes back
            process = child(kind, url, database_url)
            while stored(store) < 3 and process.poll() is None:
                time.sleep(0.01)
            store.dispose()
            postgres.stop()
            process.wait(timeout=120)
            postgres.start()
        if name == "kill":
            for _ in range(args.kills):
                before = stored(store)
                process = child(kind, url, database_url)
                while stored(store) <= before and process.poll() is None:
                    time.sleep(0.01)
                time.sleep(dice.uniform(0.0, 0.25))
                process.send_signal(signal.SIGKILL)
                process.wait()
        process = child(kind, url, database_url)
        process.wait(timeout=600)
        stop.set()
        valid = feed_batches(app)
    wanted = set(valid)
    ids = list(store.read_frame(sa.select(raw_batches.c.batch_id))["batch_id"])
    lost = wanted - set(ids)
    rows_lost = sum(valid[key] for key in lost)
    twice = (
        len(ids)
        - len(set(ids))
        + store.count(raw_houses)
        - sum(valid[key] for key in set(ids) & wanted)
    )
    store.dispose()
    return Outcome(name, kind, len(wanted), len(lost), twice, rows_lost,
                   time.perf_counter() - started)  # fmt: skip


def report(outcomes: list[Outcome], args: argparse.Namespace, load: tuple[float, ...]) -> str:
    lines = [
        "# Collection under faults: batches lost, homeval vs the seed protocol",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M UTC} on {platform.node()} "
        f"({os.cpu_count()} cores; load average before the run {load[0]:.2f} / {load[1]:.2f} "
        f"/ {load[2]:.2f}), PostgreSQL.",
        "",
        "```",
        f".venv/bin/python bench/reliability/collect_faults.py --kills {args.kills} "
        f"--batches {args.batches} --batch-size {args.batch_size} --seed {args.seed}",
        "```",
        "",
        "Same feed data (generator, seed above) and the same random kill points for both "
        "collectors; each into a fresh database. *Lost*: batches of the feed's data missing "
        "from the store at the end (rows in brackets); *twice*: batches or rows stored more "
        "than once.",
        "",
        "| fault | collector | batches in the feed | lost | twice | time |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        lines.append(f"| {o.scenario} | {o.collector} | {o.batches} | {o.lost} "
                     f"({o.rows_lost:,} rows) | {o.twice} | {o.seconds:.1f} s |")  # fmt: skip
    lines += [
        "",
        f"`kill`: {args.kills} SIGKILLs of the collector process, each once the store had "
        "gained a batch plus 0-250 ms, then one run to the end. `dbstop`: the store's "
        "PostgreSQL (a cluster of its own, `pg_createcluster`) stopped with `-m immediate` once "
        "3 batches are stored, started again after the collector gave up, one more run. "
        "`curl`: a GET /data every "
        "0.4 s from another client during the collection. `5xx`: 20 % of the feed's answers "
        "are 503 (both clients retry).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--batches", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL server for the stores")
    parser.add_argument("--write", type=Path, help="write the report here (e.g. RESULTS.md)")
    parser.add_argument("--child", choices=COLLECTORS, help=argparse.SUPPRESS)
    parser.add_argument("--feed", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_collector(args.child, args.feed, args.db)
        return
    load = os.getloadavg()
    outcomes = []
    global postgres
    for name in ("kill", "dbstop", "curl", "5xx"):
        for kind in COLLECTORS:
            dice = random.Random(args.seed)  # the same kill points for both collectors
            if name == "dbstop":  # a server of its own per collector, stopped and dropped
                postgres = Cluster()
                try:
                    outcomes.append(scenario(name, kind, postgres.url, args, dice))
                finally:
                    postgres.drop()
                continue
            with scratch_database(args.url, prefix="homeval_bench_faults") as database_url:
                outcomes.append(scenario(name, kind, database_url, args, dice))
    text = report(outcomes, args, load)
    print(text)
    if args.write:
        (HERE / args.write if not args.write.is_absolute() else args.write).write_text(text)


if __name__ == "__main__":
    main()
