"""Where a busy predictor's CPU goes, thread by thread (event loop vs tree workers).

    .venv/bin/python bench/serving/prepare.py   # once: the model and the bodies
    .venv/bin/python bench/serving/threads.py   # writes bench/serving/THREADS.md

Starts ``homeval serve`` as run.py does, loads it with wrk (100-listing and 1-listing
bodies, ``--connections``), and reads each thread's CPU time from /proc before and after:
CPU milliseconds per request for the event loop (the thread that parses, validates,
encodes and answers) and for the worker threads that price the trees.  The loop is one
core at most, so its share per request bounds the throughput; this is the measurement
behind "the event loop, not the trees, is the limit".
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from run import BODIES, WORK, load, servers, wrk

HERE = Path(__file__).resolve().parent
_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) per thread of a process: the main thread (the event
    loop) by that name, the others by thread id (Python does not name OS threads)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        name = "event loop (main thread)" if task.name == str(pid) else f"thread {task.name}"
        out[name] = (int(fields[11]) + int(fields[12])) * _TICK_S

    return out


def measure(url: str, pid: int, body: Path, connections: int, seconds: float) -> list[str]:
    wrk(url, body, connections, 2.0)  # warm-up
    before = thread_cpu(pid)
    result = wrk(url, body, connections, seconds)
    after = thread_cpu(pid)
    requests = result["rps"] * round(seconds)
    rows = []
    spent_by = {thread: cpu - before.get(thread, 0.0) for thread, cpu in after.items()}
    for thread, spent in sorted(spent_by.items(), key=lambda item: -item[1]):
        if spent > 0.05:  # threads that did nothing (watchers, idle pools) are left out
            rows.append(
                f"| {body.stem} | {connections} | {result['rps']:.0f} | {thread} "
                f"| {1e3 * spent / requests:.3f} | {spent / round(seconds):.0%} |"
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--out", type=Path, default=HERE / "THREADS.md")
    args = parser.parse_args()
    if not (BODIES / "listings_100.json").exists():
        sys.exit("run bench/serving/prepare.py first")
    server = next(s for s in servers() if s.name == "homeval")
    started = load()
    server.start(WORK / "threads.log")
    try:
        assert server.process is not None
        rows = []
        for size in (100, 1):
            body = BODIES / f"{server.body}_{size}.json"
            rows += measure(server.url, server.process.pid, body, args.connections, args.seconds)
    finally:
        server.stop()
    lines = [
        "# Predictor CPU per request, thread by thread",
        "",
        f"Command: `.venv/bin/python bench/serving/threads.py --connections {args.connections}`;"
        f" {os.cpu_count()} CPUs, 1-minute load {started} at the start, wrk -t1 on the same "
        f"machine, {args.seconds:g} s per body. The homeval server of run.py (same model, "
        "same bodies, HOMEVAL_PREDICTOR_THREADS=2). The event loop is the main thread; the threads "
        "doing the rest are the tree workers (from 32 listings a request).",
        "",
        "| body | connections | requests/s | thread | CPU ms per request | CPU share |",
        "|---|---:|---:|---|---:|---:|",
        *rows,
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
