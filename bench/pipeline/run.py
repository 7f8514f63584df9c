"""The whole pipeline at the Kaggle file's size: wall time and peak memory per step.

Generated listings (``homeval.data.generator``, the same generator the tests use) are written
once to a CSV in ``bench/pipeline/.work/`` (not timed) and served by the real feed
simulator in CSV mode, so the feed costs what slicing a file costs, as a real upstream
would, and the 2 cores go to the pipeline.  Then ``homeval pipeline run --json`` runs
exactly as the Airflow DAG starts it (KFP local runner, one subprocess per step) against
a fresh PostgreSQL database, with the platform's default training settings.

Per step: wall time from KFP's "Executing task" to its "finished" line, and the peak
resident memory of the step's process tree, sampled every 0.2 s with psutil.  Run 1 has
no production model (drift is not judged) and trains on everything; ``--second-run``
adds a drifted tenth of new rows and runs again, to time drift at full reference size.

    .venv/bin/python bench/pipeline/run.py [--rows 2200000] [--batch 10000]
        [--second-run] [--write bench/pipeline/RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from tests.scratch_db import scratch_database

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WORK = HERE / ".work"
HOMEVAL = str(Path(sys.executable).parent / "homeval")
DEFAULT_URL = os.environ.get(
    "HOMEVAL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
STEPS = ("collect", "process", "gates", "drift", "train", "promote")
_TASK_IN_CMDLINE = re.compile(r"/(" + "|".join(STEPS) + r")/executor_output\.json")
_STARTED = re.compile(r"Executing task '(\w+)'")
_FINISHED = re.compile(r"Task '(\w+)' finished with status (\w+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_csv(path: Path, rows: int, seed: int, **drift: Any) -> None:
    """Generated listings as a Kaggle-style CSV, written in chunks to bound memory."""
    from homeval.data.generator.listings import generate

    if path.is_file():
        return
    tmp = path.with_suffix(".tmp")
    chunk = 250_000
    with tmp.open("w", encoding="utf-8", newline="") as out:
        for i, start in enumerate(range(0, rows, chunk)):
            frame = generate(min(chunk, rows - start), seed=seed + i, **drift)
            frame.to_csv(out, index=False, header=(i == 0))
            print(f"  generated {min(start + chunk, rows):,} / {rows:,} rows", file=sys.stderr)
    tmp.replace(path)


@contextmanager
def feed(csv: Path, batch: int, env: dict[str, str]) -> Iterator[str]:
    """The feed simulator serving ``csv`` on a free port, in its own process group."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "datasource"],
        env={
            **env,
            "HOMEVAL_DATASOURCE_CSV": str(csv),
            "HOMEVAL_DATASOURCE_PORT": str(port),
            "HOMEVAL_DATASOURCE_BATCH_SIZE": str(batch),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        for _ in range(600):
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise RuntimeError("feed simulator did not start")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@dataclass
class StepStats:
    started: float | None = None
    finished: float | None = None
    status: str = "not run"
    peak_rss: int = 0
    cpu_seconds: float = 0.0

    @property
    def seconds(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started


@dataclass
class RunStats:
    steps: dict[str, StepStats] = field(default_factory=lambda: {s: StepStats() for s in STEPS})
    runner_peak_rss: int = 0
    seconds: float = 0.0
    result: dict[str, Any] = field(default_factory=dict)
    exit_code: int = 0


def _tree_usage(proc: psutil.Process) -> tuple[int, float]:
    """Resident memory and CPU seconds (user + system) of a process and its children."""
    rss, cpu = 0, 0.0
    with suppress(psutil.Error):
        for p in [proc, *proc.children(recursive=True)]:
            with suppress(psutil.Error):
                rss += p.memory_info().rss
                times = p.cpu_times()
                cpu += times.user + times.system
    return rss, cpu


def run_pipeline(env: dict[str, str], log_path: Path) -> RunStats:
    stats = RunStats()
    started = time.monotonic()
    proc = subprocess.Popen(
        [HOMEVAL, "pipeline", "run", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    root = psutil.Process(proc.pid)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                kids = root.children(recursive=False)
                runner = root.memory_info().rss
            except psutil.Error:
                break
            stats.runner_peak_rss = max(stats.runner_peak_rss, runner)
            for kid in kids:
                try:
                    found = _TASK_IN_CMDLINE.search(" ".join(kid.cmdline()))
                except psutil.Error:
                    continue
                if found:
                    step = stats.steps[found.group(1)]
                    rss, cpu = _tree_usage(kid)
                    step.peak_rss = max(step.peak_rss, rss)
                    step.cpu_seconds = max(step.cpu_seconds, cpu)
            time.sleep(0.2)

    def read_stderr() -> None:
        assert proc.stderr is not None
        with log_path.open("w", encoding="utf-8") as log:
            for raw in proc.stderr:
                line = _ANSI.sub("", raw)
                log.write(line)
                now = time.monotonic() - started
                if m := _STARTED.search(line):
                    stats.steps[m.group(1)].started = now
                elif m := _FINISHED.search(line):
                    stats.steps[m.group(1)].finished = now
                    stats.steps[m.group(1)].status = m.group(2).lower()

    threads = [threading.Thread(target=sample), threading.Thread(target=read_stderr)]
    for t in threads:
        t.start()
    out = proc.stdout.read() if proc.stdout else ""
    stats.exit_code = proc.wait()
    done.set()
    for t in threads:
        t.join()
    stats.seconds = time.monotonic() - started
    lines = [line for line in out.splitlines() if line.strip()]
    stats.result = json.loads(lines[-1]) if lines else {}
    return stats


def gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n else "-"


def table(stats: RunStats) -> list[str]:
    rows = [
        "| step | status | wall time | CPU time (user+sys) | peak RSS (step process tree) |",
        "|---|---|---|---|---|",
    ]
    for name, s in stats.steps.items():
        wall = f"{s.seconds:.1f} s" if s.seconds is not None else "-"
        cpu = f"{s.cpu_seconds:.1f} s" if s.cpu_seconds else "-"
        rows.append(f"| {name} | {s.status} | {wall} | {cpu} | {gib(s.peak_rss)} |")
    cpu = sum(s.cpu_seconds for s in stats.steps.values())
    rows.append(
        f"| **whole run** | exit {stats.exit_code} | **{stats.seconds:.1f} s** "
        f"({stats.seconds / 60:.1f} min) | steps {cpu:.1f} s "
        f"| runner {gib(stats.runner_peak_rss)} |"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL server")
    parser.add_argument("--second-run", action="store_true")
    parser.add_argument("--write", type=Path, help="append a results section to this file")
    args = parser.parse_args()

    WORK.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    csv = WORK / f"listings-{args.rows}.csv"
    print(f"writing {csv} (not timed)", file=sys.stderr)
    write_csv(csv, args.rows, seed=7)
    home = WORK / f"home-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    results: list[tuple[str, RunStats]] = []
    with scratch_database(args.url, prefix="homeval_bench_pipeline") as db_url:
        env = {
            **os.environ,
            "HOMEVAL_HOME": str(home),
            "HOMEVAL_DATABASE_URL": db_url,
            "MLFLOW_DISABLE_TELEMETRY": "true",
        }
        for name in [n for n in os.environ if n.startswith("MLFLOW_TRACKING")]:
            env.pop(name)
        batches = math.ceil(args.rows / args.batch)
        with feed(csv, args.batch, env) as url:
            run_env = {**env, "HOMEVAL_FEED_URL": url, "HOMEVAL_COLLECT_MAX_BATCHES": str(batches)}
            print(f"run 1: {args.rows:,} rows in {batches} batches", file=sys.stderr)
            results.append(("run 1", run_pipeline(run_env, WORK / "run1.log")))
            print("\n".join(table(results[-1][1])), file=sys.stderr)
        if args.second_run:
            extra = max(args.rows // 10, args.batch)
            drifted = WORK / f"listings-drifted-{extra}.csv"
            write_csv(
                drifted,
                extra,
                seed=1_000,
                price_shift=0.3,
                state_weights={"CA": 0.5, "TX": 0.3, "NY": 0.2},
            )
            with feed(drifted, args.batch, env) as url:
                run_env = {
                    **env,
                    "HOMEVAL_FEED_URL": url,
                    "HOMEVAL_COLLECT_MAX_BATCHES": str(math.ceil(extra / args.batch)),
                }
                print(f"run 2: {extra:,} drifted rows", file=sys.stderr)
                results.append(("run 2", run_pipeline(run_env, WORK / "run2.log")))
                print("\n".join(table(results[-1][1])), file=sys.stderr)
    load_after = os.getloadavg()

    report = [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {args.rows:,} rows, batches of {args.batch:,}",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB; load average before "
        f"{load_before[0]:.2f}, after {load_after[0]:.2f} (1 minute; above ~1, other "
        "work shared the cores).",
        "",
    ]
    for name, stats in results:
        report += [
            f"### {name}",
            "",
            *table(stats),
            "",
            "Decisions: `" + json.dumps(stats.result.get("decisions", {})) + "`",
            "",
        ]
    text = "\n".join(report)
    print(text)
    if args.write:
        with args.write.open("a", encoding="utf-8") as out:
            out.write("\n" + text + "\n")


if __name__ == "__main__":
    main()
