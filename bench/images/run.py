"""Image sizes, predictor cold start and predictor memory, in containers (issue 18).

Run: .venv/bin/python bench/images/run.py [--reps 5]
Writes bench/images/RESULTS.md.

* **Sizes**: every image ``make images`` builds (``docker image inspect``; uncompressed, as
  ``docker images`` shows them), tag ``dev``, built first by ``scripts/images.py``.
* **Cold start**: the predictor container started as the manifests run it (read-only
  root, /tmp and /data empty tmpfs, uid 1000) on the production-size model (500 trees,
  63 leaves, fitted on the real rows by ``bench/serving/prepare.py``; its MLflow registry
  is a SQLite file bind-mounted at the same path). Timed from ``docker run`` to the first
  200 from ``/v1/models/house-price`` with ``ready: true`` (polled every 20 ms) and to
  the first prediction; ``--reps`` fresh containers, the median and the spread reported.
* **Memory**: after 1,000 single-listing ``:predict`` requests, the resident set (VmRSS)
  summed over the container's processes.

The machine's load (1-minute average) is recorded before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WORK = HERE / ".work"
SERVING_WORK = REPO / "bench/serving/.work"
sys.path.insert(0, str(REPO / "scripts"))
import images as builder  # noqa: E402
from bump_image_tags import IMAGES  # noqa: E402

TAG = "dev"
PORT = 18480
GOALS_MB = {"inference": 500, "ui": 700, "datasource": 300}
"""Issue 18's size goals (MB, uncompressed)."""
READY_GOAL_S = 3.0
RSS_GOAL_MB = 300


def load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def image_size_mb(ref: str) -> float:
    out = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", ref],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return int(out) / 1e6


def registry_copy() -> Path:
    """A fresh copy of the benchmark registry the container may write (MLflow's SQLite
    store updates its schema table on open)."""
    source = SERVING_WORK / "home"
    if not (source / "mlflow.db").is_file():
        subprocess.run([sys.executable, str(REPO / "bench/serving/prepare.py")], check=True)
    target = WORK / "registry"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    # the artifact URIs in the store are absolute paths under the serving work folder
    subprocess.run(["chmod", "-R", "a+rwX", str(target), str(SERVING_WORK / "home")], check=True)
    return target


def start_predictor(image: str, registry: Path, command: tuple[str, ...] = ()) -> tuple[str, float]:
    name = f"homeval-bench-predictor-{os.getpid()}"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    uri = f"sqlite:///{registry / 'mlflow.db'}"
    cmd = [
        "docker", "run", "-d", "--name", name, "--network", "host", "--read-only",
        "--tmpfs", "/tmp:mode=1777", "--tmpfs", "/data:uid=1000,gid=1000",
        "-v", f"{registry}:{registry}", "-v", f"{SERVING_WORK / 'home'}:{SERVING_WORK / 'home'}",
        "-e", f"MLFLOW_TRACKING_URI={uri}", "-e", f"HOMEVAL_PREDICTOR_PORT={PORT}",
        "-e", "HOMEVAL_PREDICTOR_VERSIONS=none", "-e", "HOME=/tmp",
        image, *command,
    ]  # fmt: skip
    started = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True)
    return name, started


def cold_start(image: str, registry: Path, command: tuple[str, ...] = ()) -> dict[str, float]:
    name, started = start_predictor(image, registry, command)
    url = f"http://127.0.0.1:{PORT}"
    try:
        listing = json.loads((SERVING_WORK / "bodies/listings_1.json").read_text())
        ready = None
        deadline = started + 300
        with httpx.Client(timeout=5) as client:
            while ready is None and time.monotonic() < deadline:
                try:
                    answer = client.get(f"{url}/v1/models/house-price")
                    if answer.status_code == 200 and answer.json().get("ready"):
                        ready = time.monotonic() - started
                except httpx.HTTPError:
                    pass
                time.sleep(0.02)
            if ready is None:
                logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
                raise SystemExit(f"predictor not ready:\n{(logs.stdout + logs.stderr)[-3000:]}")
            first = client.post(f"{url}/v1/models/house-price:predict", json=listing)
            first.raise_for_status()
            predicted = time.monotonic() - started
        return {"ready_s": ready, "first_prediction_s": predicted}
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


BREAKDOWN = """
import time
t0 = time.perf_counter()
import inference.server
from homeval.model.trees.flatten import from_regressor
from homeval.model.explain import FEATURE_PLAYER
from homeval.model.pricing import build_pricer
from homeval.registry.packaging import load_price_model
t1 = time.perf_counter()
model = load_price_model("models:/house-price@production")
t2 = time.perf_counter()
forest = from_regressor(model.parts.regressor, players=FEATURE_PLAYER)
t3 = time.perf_counter()
build_pricer(model)
t4 = time.perf_counter()
print(f"imports {t1 - t0:.2f} s|MLflow load {t2 - t1:.2f} s|pricer built {t4 - t3:.2f} s "
      f"(flattening the trees alone: {t3 - t2:.2f} s)")
"""
"""Where a start's time goes, in the image (numba's cache seeded, as the image starts)."""


def startup_breakdown(image: str, registry: Path) -> str:
    name, _ = start_predictor(
        image, registry,
        ("sh", "-c", "mkdir -p $NUMBA_CACHE_DIR && cp -Rn /opt/numba-cache/. $NUMBA_CACHE_DIR/"
         " && python3 -c \"$0\"", BREAKDOWN),
    )  # fmt: skip
    try:
        done = subprocess.run(["docker", "wait", name], capture_output=True, text=True)
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
        line = [x for x in logs.stdout.splitlines() if x.startswith("imports ")]
        if done.stdout.strip() != "0" or not line:
            raise SystemExit(f"breakdown failed:\n{(logs.stdout + logs.stderr)[-3000:]}")
        return " · ".join(line[-1].split("|"))
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def rss_after_requests(image: str, registry: Path, n: int = 1000) -> float:
    name, _ = start_predictor(image, registry)
    url = f"http://127.0.0.1:{PORT}"
    try:
        listing = json.loads((SERVING_WORK / "bodies/listings_1.json").read_text())
        with httpx.Client(timeout=5) as client:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                try:
                    if client.get(f"{url}/v1/models/house-price").json().get("ready"):
                        break
                except (httpx.HTTPError, ValueError):
                    pass
                time.sleep(0.1)
            for _ in range(n):
                client.post(f"{url}/v1/models/house-price:predict", json=listing).raise_for_status()
        status = subprocess.run(
            ["docker", "exec", name, "sh", "-c", "cat /proc/[0-9]*/status"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        kib = sum(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        return kib / 1024
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    builder.ensure_engine()
    parts = list(IMAGES)
    bases = builder.resolve_bases(parts)
    refs = dict(zip(parts, builder.build(parts, TAG, bases, quiet=True), strict=True))
    load_before = load()
    sizes = {part: image_size_mb(ref) for part, ref in refs.items()}
    registry = registry_copy()
    # alternately: the image as built, and the same image started without copying its
    # compiled loops into numba's cache (as every start was before), the peer
    starts, uncached = [], []
    for _ in range(args.reps):
        starts.append(cold_start(refs["inference"], registry))
        uncached.append(cold_start(refs["inference"], registry, ("homeval", "serve")))
    rss = rss_after_requests(refs["inference"], registry)
    breakdown = startup_breakdown(refs["inference"], registry)
    load_after = load()
    ready = [s["ready_s"] for s in starts]
    first = [s["first_prediction_s"] for s in starts]
    before = [s["ready_s"] for s in uncached]
    lines = [
        "# Images: sizes, predictor cold start and memory",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `.venv/bin/python bench/images/run.py "
        f"--reps {args.reps}` on {os.cpu_count()} cores ({platform.machine()}), "
        f"Docker {docker_version()}; 1-minute load {load_before:.2f} before, "
        f"{load_after:.2f} after. No random seeds: the model is bench/serving/prepare.py's "
        "(500 trees, 63 leaves, real rows).",
        f"Base images: {', '.join(sorted(set(bases.values())))}.",
        "",
        "| image | size (MB, uncompressed) | goal |",
        "|---|---:|---:|",
    ]
    for part, size in sizes.items():
        goal = GOALS_MB.get(part)
        lines.append(f"| homeval-{part} | {size:,.0f} | {f'≤ {goal}' if goal else '—'} |")
    lines += [
        "",
        f"| predictor, {args.reps} cold starts | median | min | max | goal |",
        "|---|---:|---:|---:|---:|",
        f"| start → ready (s) | {statistics.median(ready):.2f} | {min(ready):.2f} | "
        f"{max(ready):.2f} | ≤ {READY_GOAL_S:g} |",
        f"| start → first prediction (s) | {statistics.median(first):.2f} | {min(first):.2f} | "
        f"{max(first):.2f} | |",
        f"| start → ready, loops compiled at start (s) | {statistics.median(before):.2f} | "
        f"{min(before):.2f} | {max(before):.2f} | |",
        "",
        f"Shipping the compiled loops: {statistics.median(before) / statistics.median(ready):.2f}x "
        "faster to ready (medians; the two kinds of start alternate in one run).",
        "",
        f"Where the time to ready goes (one start, timed inside the container): {breakdown}; "
        "the rest is the container's start and the server's own start-up.",
        "",
        f"RSS after 1,000 single-listing requests, summed over the container's processes: "
        f"**{rss:.0f} MB** (goal ≤ {RSS_GOAL_MB} MB).",
        "",
    ]
    (HERE / "RESULTS.md").write_text("\n".join(lines))
    print("\n".join(lines))


def docker_version() -> str:
    out = subprocess.run(["docker", "version", "-f", "{{.Server.Version}}"],
                         capture_output=True, text=True).stdout  # fmt: skip
    return out.strip() or "?"


if __name__ == "__main__":
    main()
