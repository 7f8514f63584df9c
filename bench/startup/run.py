"""How long a second ``homeval up`` takes to serve a prediction (issue 20, goal <= 20 s).

Run: .venv/bin/python bench/startup/run.py [--reps 3]
Writes bench/startup/RESULTS.md.

A first ``homeval up`` fills bench/startup/.work/home (store, registry, a production model
of the production size: 500 trees) and is stopped with Ctrl-C once it says "Ctrl-C stops
everything"; its time to a served prediction is recorded too.  Then ``--reps`` runs of
``homeval up --retrain-every 0`` on that home, each timed from the process's start to the
first 200 from the predictor's ``:predict`` (polled every 0.1 s), then stopped with
Ctrl-C.  Small feed batches keep the first run short; the model is the default size.
Once each run says it is up, the RSS of every process it runs (feed, MLflow's UI,
predictor, web UI and ``homeval up`` itself) is summed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WORK = HERE / ".work"
LISTING = {"state": "Connecticut", "city": "Hartford", "zip_code": "06103", "bed": 3,
           "bath": 2, "house_size": 1500, "status": "for_sale"}  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("HOMEVAL_", "MLFLOW_"))}
    return {
        **keep,
        "HOMEVAL_HOME": str(home),
        "HOMEVAL_FEED_URL": f"http://127.0.0.1:{free_port()}",
        "HOMEVAL_PREDICTOR_PORT": str(free_port()),
        "HOMEVAL_UI_PORT": str(free_port()),
        "HOMEVAL_MLFLOW_UI_PORT": str(free_port()),
        "HOMEVAL_DATASOURCE_BATCH_SIZE": "2000",
        "HOMEVAL_COLLECT_MAX_BATCHES": "15",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "COLUMNS": "200",
    }


def _pss(entry: Path) -> int:
    """Proportional set size in bytes (a page shared by n processes counts 1/n each)."""
    for line in (entry / "smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


Memory = list[tuple[str, int, int]]
"""(what the process is, RSS bytes, PSS bytes) per process."""


def _what(entry: Path) -> str:
    """A process's command line without the interpreter's path and long arguments."""
    words = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
    words = [w for w in words[1:] if w and not w.startswith("/")][:3]
    return " ".join(w if len(w) < 40 else w[:37] + "..." for w in words)


def tree_memory(root: int) -> Memory:
    """What ``root`` and every process below it are, and the memory each holds."""
    parents: dict[int, int] = {}
    sizes: dict[int, tuple[str, int, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            pages = int((entry / "statm").read_text().split()[1])
            pss = _pss(entry)
            what = _what(entry)
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
            sizes[int(entry.name)] = (what, pages * os.sysconf("SC_PAGE_SIZE"), pss)
    tree = {root}
    while True:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        if not more:
            break
        tree |= more
    return sorted((sizes[pid] for pid in tree if pid in sizes), key=lambda m: -m[1])


def totals(memory: Memory) -> tuple[int, int, int]:
    """(processes, RSS bytes, PSS bytes) summed."""
    return len(memory), sum(m[1] for m in memory), sum(m[2] for m in memory)


def timed_up(home: Path, log: Path, extra: list[str]) -> tuple[float, Memory]:
    """Seconds from starting ``homeval up`` to the first priced listing, and every process
    it runs with its memory once it says it is up; then Ctrl-C."""
    env = environment(home)
    url = f"http://127.0.0.1:{env['HOMEVAL_PREDICTOR_PORT']}/v1/models/house-price:predict"
    with log.open("w") as sink:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "homeval", "up", *extra], env=env, cwd=REPO,
            stdout=sink, stderr=subprocess.STDOUT,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
        try:
            while True:
                if process.poll() is not None:
                    sys.exit(f"homeval up exited {process.returncode}; see {log}")
                try:
                    if httpx.post(url, json={"instances": [LISTING]}, timeout=2).status_code == 200:
                        seconds = time.monotonic() - started
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            deadline = time.monotonic() + 120
            while "Ctrl-C stops everything" not in log.read_text():
                if time.monotonic() > deadline:
                    sys.exit(f"no 'Ctrl-C stops everything' in {log}")
                time.sleep(0.2)
            time.sleep(5)  # settled
            memory = tree_memory(process.pid)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=120)
    return seconds, memory


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    home = WORK / "home"
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    first, first_processes = timed_up(home, WORK / "up-first.log", ["--retrain-every", "0"])
    first_memory = totals(first_processes)
    print(f"first run: {first:.1f} s to a served prediction")
    again = []
    memory = []
    for rep in range(args.reps):
        seconds, used = timed_up(home, WORK / f"up-{rep}.log", ["--retrain-every", "0"])
        again.append(seconds)
        memory.append(totals(used))
        print(f"second run {rep}: {seconds:.1f} s")
    median = statistics.median(again)
    verdict = "met" if median <= 20 else "NOT met"
    lines = [
        "# Startup: `homeval up` to a served prediction",
        "",
        f"Command: `.venv/bin/python bench/startup/run.py --reps {args.reps}` "
        f"({time.strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} CPUs, load average at start "
        f"{load}). See the script's docstring for what is timed.",
        "",
        "| run | seconds to the first priced listing | processes | RSS, MiB | PSS, MiB |",
        "|---|---:|---:|---:|---:|",
        f"| first (trains a model: pipeline on 15 batches of 2,000 generated rows) | {first:.1f} "
        f"| {first_memory[0]} | {first_memory[1] / 2**20:,.0f} | {first_memory[2] / 2**20:,.0f} |",
        *(
            f"| again, rep {i} (the production model is there) | {s:.1f} | {m[0]} "
            f"| {m[1] / 2**20:,.0f} | {m[2] / 2**20:,.0f} |"
            for i, (s, m) in enumerate(zip(again, memory, strict=True))
        ),
        "",
        f"Goal (issue 20): a second `make up` serves within 20 s: **{verdict}** "
        f"(median {median:.1f} s; the issue measured 102–105 s).",
        "",
        f"Memory (issue 20 goal: all local services <= 1.5 GB together after a pipeline run), "
        f"after the first run's pipeline: RSS summed {first_memory[1] / 1e9:.2f} GB (counts a "
        f"page shared by several processes once in each), PSS summed "
        f"{first_memory[2] / 1e9:.2f} GB (each shared page split among its processes: "
        f"what they hold together): "
        f"**{'met' if first_memory[2] <= 1.5e9 else 'NOT met'}** by PSS, "
        f"**{'met' if first_memory[1] <= 1.5e9 else 'NOT met'}** by RSS.",
        "",
        "Where the memory is, after the first run's pipeline:",
        "",
        "| process | RSS, MiB | PSS, MiB |",
        "|---|---:|---:|",
        *(f"| `{w}` | {r / 2**20:,.0f} | {q / 2**20:,.0f} |" for w, r, q in first_processes),
        "",
    ]
    (HERE / "RESULTS.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
