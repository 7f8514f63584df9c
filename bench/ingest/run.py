"""Rows per second into PostgreSQL: homeval's ingest vs pandas ``to_sql(method="multi")``.

The seed project stored each feed batch with ``DataFrame(rows).to_sql(..., method="multi",
chunksize=1000)``; homeval validates the batch and COPYs it in one transaction keyed by its
content hash.  Both get the same generated rows, cut into the same feed batches, on the
same server in the same run; each repetition writes into a fresh database.

Two comparisons:
- feed -> table: from the feed's rows (lists) to stored rows, each side as it is used
  (homeval: parse_rows + batch_key + Store.ingest_batch; seed: DataFrame + to_sql into
  the table pandas creates);
- write only: the same parsed frame written into the same typed table
  (Store.ingest_batch vs to_sql into rawdata.houses).

    .venv/bin/python bench/ingest/run.py [--rows 200000] [--batch 5000] [--reps 3]
        [--url postgresql://postgres@127.0.0.1:5432/test] [--datagen] [--write RESULTS.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from homeval.data.generator.listings import generate
from homeval.data.listing_parser import parse_rows
from homeval.data.schema import LISTING_FIELDS, ParsedBatch
from homeval.data.store import Store, batch_key
from tests.scratch_db import scratch_database

HERE = Path(__file__).resolve().parent
DEFAULT_URL = os.environ.get(
    "HOMEVAL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def feed_batches(rows: int, size: int) -> list[list[list[object]]]:
    frame = generate(rows, seed=2024)
    values = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    return [values[i : i + size] for i in range(0, len(values), size)]


# --- the contenders -----------------------------------------------------------------------


def homeval_feed(url: str, batches: list[list[list[object]]]) -> tuple[float, int]:
    store = Store(url)
    store.init()
    started = time.perf_counter()
    for number, rows in enumerate(batches):
        store.ingest_batch(parse_rows(rows), batch_id=batch_key(rows), group_number=1,
                           day="bench", batch_number=number, raw_rows=rows)  # fmt: skip
    elapsed = time.perf_counter() - started
    stored = store.count(sa.table("houses", schema="rawdata"))
    store.dispose()
    return elapsed, stored


def pandas_feed(url: str, batches: list[list[list[object]]]) -> tuple[float, int]:
    engine = sa.create_engine(sa.make_url(url))
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS rawdata"))
    started = time.perf_counter()
    for rows in batches:
        frame = pd.DataFrame(rows, columns=list(LISTING_FIELDS))
        frame.to_sql("houses_seed", engine, schema="rawdata", if_exists="append", index=False,
                     method="multi", chunksize=1000)  # fmt: skip
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        stored = conn.execute(sa.text("select count(*) from rawdata.houses_seed")).scalar_one()
    engine.dispose()
    return elapsed, int(stored)


def homeval_write(url: str, parsed: list[ParsedBatch]) -> tuple[float, int]:
    store = Store(url)
    store.init()
    started = time.perf_counter()
    for number, batch in enumerate(parsed):
        store.ingest_batch(batch, batch_id=f"bench-{number}")
    elapsed = time.perf_counter() - started
    stored = store.count(sa.table("houses", schema="rawdata"))
    store.dispose()
    return elapsed, stored


def pandas_write(url: str, parsed: list[ParsedBatch]) -> tuple[float, int]:
    store = Store(url)
    store.init()  # the same typed table
    engine = store.engine
    started = time.perf_counter()
    for number, batch in enumerate(parsed):
        frame = batch.rows.assign(batch_id=f"bench-{number}", data_origin="teacher")
        frame.to_sql("houses", engine, schema="rawdata", if_exists="append", index=False,
                     method="multi", chunksize=1000)  # fmt: skip
    elapsed = time.perf_counter() - started
    stored = store.count(sa.table("houses", schema="rawdata"))
    store.dispose()
    return elapsed, stored


def measure(
    server: str, reps: int, run: Callable[[str], tuple[float, int]]
) -> tuple[list[float], int]:
    times, stored = [], 0
    for _ in range(reps):
        with scratch_database(server, prefix="homeval_bench") as url:
            elapsed, stored = run(url)
        times.append(elapsed)
    return times, stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL server (admin) URL")
    parser.add_argument("--datagen", action="store_true", help="also time 2.2M generated rows")
    parser.add_argument("--write", type=Path, help="write the results as Markdown here")
    args = parser.parse_args()

    load_before = os.getloadavg()
    batches = feed_batches(args.rows, args.batch)
    total = sum(len(b) for b in batches)
    parsed = [parse_rows(b) for b in batches]
    valid = sum(len(p.rows) for p in parsed)
    results = {}
    for name, run in (
        ("homeval feed", lambda url: homeval_feed(url, batches)),
        ("pandas feed", lambda url: pandas_feed(url, batches)),
        ("homeval write", lambda url: homeval_write(url, parsed)),
        ("pandas write", lambda url: pandas_write(url, parsed)),
    ):
        times, stored = measure(args.url, args.reps, run)
        results[name] = (times, stored)
        print(f"{name:14s} {statistics.median(times):7.2f} s median  {stored:,} rows  "
              f"runs {', '.join(f'{t:.2f}' for t in times)}")  # fmt: skip
    load_after = os.getloadavg()

    datagen_s = None
    if args.datagen:
        started = time.perf_counter()
        generate(2_226_382, seed=1)
        datagen_s = time.perf_counter() - started
        print(f"datagen: 2,226,382 rows in {datagen_s:.1f} s")

    lines = report(args, total, valid, results, load_before, load_after, datagen_s)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        args.write.write_text(text)


def report(
    args: argparse.Namespace,
    total: int,
    valid: int,
    results: dict[str, tuple[list[float], int]],
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
    datagen_s: float | None,
) -> list[str]:
    def rate(name: str) -> float:
        return results[name][1] / statistics.median(results[name][0])

    def row(name: str, what: str) -> str:
        times, stored = results[name]
        return (f"| {name} | {what} | {stored:,} | {statistics.median(times):.2f} | "
                f"{', '.join(f'{t:.2f}' for t in times)} | {rate(name):,.0f} |")  # fmt: skip

    feed_ratio = rate("homeval feed") / rate("pandas feed")
    write_ratio = rate("homeval write") / rate("pandas write")
    engine = sa.create_engine(sa.make_url(args.url).set(drivername="postgresql+psycopg"))
    with engine.connect() as conn:
        server = str(conn.execute(sa.text("show server_version")).scalar_one()).split()[0]
    engine.dispose()
    lines = [
        '# Ingest benchmark: homeval vs pandas to_sql(method="multi", chunksize=1000)',
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} CPUs, Python {platform.python_version()}, PostgreSQL {server} on "
        "loopback), load average (1/5/15 min) "
        f"{' / '.join(f'{x:.2f}' for x in load_before)} before and "
        f"{' / '.join(f'{x:.2f}' for x in load_after)} after: the machine is shared, so "
        "absolute times move between runs; both sides ran back to back in the same run.",
        "",
        f"Same rows for both: {total:,} generated listings (`homeval.data.generator`, seed 2024) "
        f"in {-(-total // args.batch)} feed batches of "
        f"{args.batch:,}; {valid:,} pass validation. {args.reps} repetitions each, every one "
        "into a fresh database; the table shows medians.",
        "",
        "## The goal: homeval's ingest vs pandas to_sql, same rows, same table",
        "",
        "| contender | what it does | rows stored | median s | runs (s) | rows/s |",
        "|---|---|---|---|---|---|",
        row(
            "homeval write",
            "Store.ingest_batch per batch (COPY, one transaction, batch "
            "id claimed for idempotency)",
        ),
        row(
            "pandas write",
            "to_sql(method='multi', chunksize=1000) per batch into the same typed table",
        ),
        "",
        f"**{write_ratio:.0f}x** rows/s (goal: at least 10x).",
        "",
        "## End to end from the feed's rows (each side as it is used)",
        "",
        "| contender | what it does | rows stored | median s | runs (s) | rows/s |",
        "|---|---|---|---|---|---|",
        row("homeval feed", "parse_rows (validation) + batch_key + Store.ingest_batch"),
        row("pandas feed", "DataFrame(rows) + to_sql multi/1000 (the seed project)"),
        "",
        f"**{feed_ratio:.1f}x** rows/s. Here homeval also validates every value "
        "(listing_parser.parse_rows: status, state, ZIP, dates, numbers; rejects are stored with "
        "their reasons), which costs more than the COPY itself; the seed side stores the "
        "raw values as text and checks nothing.",
        "",
        "Command:",
        "",
        "```bash",
        f".venv/bin/python bench/ingest/run.py --rows {args.rows} --batch {args.batch} "
        f"--reps {args.reps}{' --datagen' if datagen_s is not None else ''} "
        "--write bench/ingest/RESULTS.md",
        "```",
    ]
    if datagen_s is not None:
        lines += [
            "",
            f"Generator speed (same run): 2,226,382 rows (the real file's size) in "
            f"{datagen_s:.1f} s with `homeval.data.generator.listings.generate`.",
        ]
    return lines


if __name__ == "__main__":
    main()
