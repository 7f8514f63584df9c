"""The predictor on an operator's worst day: malformed payloads, huge bodies, promotions
under load. What it must show: no 5xx, memory flat, peak RSS under the pod's 2 GiB.

One ``homeval serve`` (the production-size model of ``bench/serving/prepare.py``, 500
trees, in a copy of that registry) goes through, in one run:

- ``malformed``: N payloads (default 10,000) made by mutating a real listing (fields
  deleted, retyped, made huge, nested, unknown keys, wrong containers, truncated JSON,
  random bytes), 8 at a time; every answer must be 200 or 400;
- ``sizes``: bodies of 1 kB to 289 MB (valid JSON, padded), one at a time, with the
  process's RSS sampled every 5 ms; over ``HOMEVAL_PREDICTOR_MAX_BODY_BYTES`` (8 MiB) a 413;
- ``promotions``: 60 s of single-listing requests at concurrency 64 while the production
  alias moves three times between two versions; every answer must be 200.

    .venv/bin/python bench/serving/prepare.py        # once: the model and request bodies
    .venv/bin/python bench/reliability/predictor_abuse.py [--payloads 10000] [--seconds 60]
        [--seed 20261207] [--write PREDICTOR.md]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SERVING = REPO / "bench/serving/.work"
PREDICT = "/v1/models/house-price:predict"
POD_LIMIT = 2 * 2**30
SIZES = (1_000, 1_000_000, 8_000_000, 16_000_000, 100_000_000, 289_000_000)


def rss(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Sampler:
    """The peak RSS of a process while the block runs (sampled every 5 ms)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, rss(pid), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss(self.pid))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


# --- the predictor, in a copy of the serving bench's registry --------------------------------


def start_predictor(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    registry = f"sqlite:///{home / 'mlflow.db'}"
    env = {
        **os.environ,
        "HOMEVAL_HOME": str(home),
        "MLFLOW_TRACKING_URI": registry,
        "HOMEVAL_MLFLOW_TRACKING_URI": registry,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "HOMEVAL_PREDICTOR_HOST": "127.0.0.1",
        "HOMEVAL_PREDICTOR_PORT": str(port),
        "HOMEVAL_PREDICTOR_RELOAD_S": "1",
    }
    log = (home / "predictor.log").open("wb")
    process = subprocess.Popen([str(REPO / ".venv/bin/homeval"), "serve"], env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=2).is_success:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"predictor not ready: {(home / 'predictor.log').read_text()[-2000:]}")


# --- malformed payloads ------------------------------------------------------------------------


def junk(dice: random.Random) -> Any:
    return dice.choice([
        None, True, -1, 0, 10 ** dice.randint(20, 600), -(10 ** dice.randint(20, 600)), 1e308,
        "", " ", "x" * dice.choice([1, 300, 10_000]), "NaN", "1e999", [1, 2], {"a": 1},
        [[[]]], "06103", "CT", "2999-01-01", "yesterday", 3.5, -0.0,
    ])  # fmt: skip


def malformed(listing: dict[str, Any], dice: random.Random) -> bytes:
    roll = dice.random()
    if roll < 0.05:
        return bytes(dice.getrandbits(8) for _ in range(dice.randint(0, 200)))
    body: Any = {"instances": [dict(listing) for _ in range(dice.randint(1, 3))]}
    for _ in range(dice.randint(1, 4)):
        row = dice.choice(body["instances"])
        action = dice.random()
        if action < 0.3:
            row.pop(dice.choice(list(row) or ["state"]), None)
        elif action < 0.8:
            row[dice.choice(list(listing))] = junk(dice)
        else:
            row[f"extra_{dice.randint(0, 9)}"] = junk(dice)
    if roll < 0.12:
        body = dice.choice([body["instances"], body["instances"][0], 3, None, {"inputs": []}])
    if roll > 0.95:
        body = {**body, "parameters": {dice.choice(["interval", "x"]): junk(dice)}}
    text = json.dumps(body).encode()
    if 0.9 < roll <= 0.95:
        text = text[: dice.randint(1, max(1, len(text) - 1))]  # truncated
    return text


def run_malformed(url: str, listing: dict[str, Any], n: int, seed: int, pid: int) -> dict[str, Any]:
    dice = random.Random(seed)
    bodies = [malformed(listing, dice) for _ in range(n)]
    codes: Counter[int] = Counter()
    before = rss(pid)

    async def go() -> None:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:

            async def worker() -> None:
                while not queue.empty():
                    body = queue.get_nowait()
                    answer = await client.post(
                        PREDICT, content=body, headers={"content-type": "application/json"}
                    )
                    codes[answer.status_code] += 1  # fmt: skip

            await asyncio.gather(*(worker() for _ in range(8)))

    started = time.perf_counter()
    with Sampler(pid) as sampler:
        asyncio.run(go())
    return {"codes": dict(sorted(codes.items())), "seconds": time.perf_counter() - started,
            "rss_before": before, "rss_after": rss(pid), "rss_peak": sampler.peak}  # fmt: skip


# --- body sizes --------------------------------------------------------------------------------


def run_sizes(url: str, listing: dict[str, Any], pid: int) -> list[dict[str, Any]]:
    one = json.dumps(listing).encode()
    rows = []
    for size in SIZES:
        count = max(1, min(1000, size // (len(one) + 1)))
        body = b'{"instances": [' + b",".join([one] * count) + b"]}"
        body += b" " * max(0, size - len(body))
        with Sampler(pid) as sampler, httpx.Client(timeout=300) as client:
            started = time.perf_counter()
            answer = client.post(f"{url}{PREDICT}", content=body,
                                 headers={"content-type": "application/json"})  # fmt: skip
            seconds = time.perf_counter() - started
        rows.append({"bytes": len(body), "status": answer.status_code, "seconds": seconds,
                     "rss_peak": sampler.peak})  # fmt: skip
    return rows


# --- promotions under load ---------------------------------------------------------------------


def run_promotions(
    url: str, body: bytes, seconds: float, promote: Callable[[str], None]
) -> dict[str, Any]:
    codes: Counter[int | str] = Counter()
    served: Counter[str] = Counter()
    moves: list[str] = []

    async def go() -> None:
        end = time.monotonic() + seconds
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

            async def worker() -> None:
                while time.monotonic() < end:
                    try:
                        answer = await client.post(
                            PREDICT, content=body, headers={"content-type": "application/json"}
                        )
                    except httpx.HTTPError as exc:  # fmt: skip
                        codes[type(exc).__name__] += 1
                        continue
                    codes[answer.status_code] += 1
                    if answer.status_code == 200:
                        served[str(answer.json().get("model_version", "?"))] += 1

            async def mover() -> None:
                for i, version in enumerate(("2", "1", "2")):
                    await asyncio.sleep(seconds / 4)
                    await asyncio.to_thread(promote, version)
                    moves.append(f"{(i + 1) * seconds / 4:.0f} s -> v{version}")

            await asyncio.gather(mover(), *(worker() for _ in range(64)))

    asyncio.run(go())
    return {"codes": dict(codes), "moves": moves, "versions": dict(served)}


# --- the report ----------------------------------------------------------------------------------


def mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def report(args: argparse.Namespace, load: tuple[float, ...], bad: dict[str, Any],
           sizes: list[dict[str, Any]], promo: dict[str, Any]) -> str:  # fmt: skip
    five = sum(v for k, v in bad["codes"].items() if 500 <= k < 600)
    lines = [
        "# The predictor on an operator's worst day",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M UTC} on {platform.node()} "
        f"({os.cpu_count()} cores; load average before the run {load[0]:.2f} / {load[1]:.2f} "
        f"/ {load[2]:.2f}); `homeval serve` with the 500-tree model of bench/serving.",
        "",
        "```",
        f".venv/bin/python bench/reliability/predictor_abuse.py --payloads {args.payloads} "
        f"--seconds {args.seconds} --seed {args.seed}",
        "```",
        "",
        f"## {args.payloads:,} malformed payloads (8 at a time)",
        "",
        f"Answers: {', '.join(f'{k}: {v:,}' for k, v in bad['codes'].items())} — "
        f"**{five} × 5xx**, in {bad['seconds']:.1f} s. RSS {mib(bad['rss_before'])} before, "
        f"{mib(bad['rss_after'])} after, peak {mib(bad['rss_peak'])}.",
        "",
        "## Body sizes (limit `HOMEVAL_PREDICTOR_MAX_BODY_BYTES` = 8 MiB; pod limit 2 GiB)",
        "",
        "| body | answer | time | peak RSS |",
        "|---|---|---|---|",
    ]
    for row in sizes:
        lines.append(f"| {row['bytes'] / 1e6:,.3f} MB | {row['status']} | {row['seconds']:.2f} s "
                     f"| {mib(row['rss_peak'])} |")  # fmt: skip
    peak = max(row["rss_peak"] for row in sizes)
    lines += [
        "",
        f"Peak RSS over the sweep: **{mib(peak)}** ({peak / POD_LIMIT:.0%} of the pod's limit).",
        "",
        f"## {args.seconds} s at concurrency 64, the production alias moved three times",
        "",
        f"Moves: {', '.join(promo['moves'])}. Answers: "
        f"{', '.join(f'{k}: {v:,}' for k, v in promo['codes'].items())}; served by version "
        f"{', '.join(f'v{k}: {v:,}' for k, v in sorted(promo['versions'].items()))}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payloads", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--write", type=Path, help="write the report here, under bench/reliability")
    args = parser.parse_args()
    if not (SERVING / "home/mlflow.db").is_file():
        sys.exit("run bench/serving/prepare.py first (the model and the request bodies)")
    load = os.getloadavg()
    home = Path(tempfile.mkdtemp(prefix="homeval-abuse-"))
    shutil.copy(SERVING / "home/mlflow.db", home / "mlflow.db")  # artifacts: absolute paths
    body = (SERVING / "bodies/listings_1.json").read_bytes()
    listing = json.loads(body)["instances"][0]

    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{home / 'mlflow.db'}"
    from mlflow import MlflowClient

    registry = MlflowClient()
    first = registry.get_model_version_by_alias("house-price", "production")
    registry.create_model_version("house-price", first.source, run_id=first.run_id)

    def promote(version: str) -> None:
        registry.set_registered_model_alias("house-price", "production", version)

    process, url = start_predictor(home)
    try:
        bad = run_malformed(url, listing, args.payloads, args.seed, process.pid)
        sizes = run_sizes(url, listing, process.pid)
        promo = run_promotions(url, body, args.seconds, promote)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    text = report(args, load, bad, sizes, promo)
    print(text)
    if args.write:
        (HERE / args.write).write_text(text)


if __name__ == "__main__":
    main()
