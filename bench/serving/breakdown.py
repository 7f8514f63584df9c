"""Where a predictor request's time goes, step by step, in process (no HTTP).

    .venv/bin/python bench/serving/prepare.py     # once: the model and the bodies
    .venv/bin/python bench/serving/breakdown.py   # writes bench/serving/BREAKDOWN.md

Same model and bodies as run.py.  Each step is timed alone, best of 7 repetitions of a
loop (the median would fold in other work on a shared machine): decoding the 100-row
JSON body, validating its listings, encoding them (a column at a time), the leaf masks
on one and on ``--threads`` threads, the compiled tree walk they replaced, and
LightGBM's own predict (``num_threads=1``, as served before the compiled trees); for one
row, the leaf masks and the walk, TreeSHAP on one and on ``--threads`` threads and
LightGBM's ``pred_contrib`` (the peer of the explain goal).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from prepare import WORK, env

HERE = Path(__file__).resolve().parent


def best_ms(step: Callable[[], object], loops: int, repeats: int = 7) -> float:
    step()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(loops):
            step()
        times.append((time.perf_counter() - started) / loops)
    return 1e3 * min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "BREAKDOWN.md")
    args = parser.parse_args()
    body_path = WORK / "bodies" / "listings_100.json"
    if not body_path.exists():
        sys.exit("run bench/serving/prepare.py first")
    os.environ.update(env())

    import orjson

    from homeval.data.validation import parse_v1_body
    from homeval.registry.packaging import load_pricer

    pricer = load_pricer("models:/house-price/1", threads=args.threads)
    forest, booster = pricer.forest, pricer.model.parts.booster
    assert forest is not None, "the bench model has compiled trees"
    raw = body_path.read_bytes()
    body = orjson.loads(raw)
    listings, _ = parse_v1_body(body, max_instances=1_000)
    features = pricer.encode(listings)
    one = features[:1].copy()
    walk = dataclasses.replace(forest, masks=None)  # the compiled walk the masks replaced
    n = args.threads
    steps = [
        ("100 rows: decode the JSON body", lambda: orjson.loads(raw), 300),
        ("100 rows: validate the listings", lambda: parse_v1_body(body, max_instances=1_000), 100),
        ("100 rows: encode (lookups)", lambda: pricer.encode(listings), 100),
        ("100 rows: leaf masks, 1 thread", lambda: forest.predict(features, 1), 100),
        (f"100 rows: leaf masks, {n} threads", lambda: forest.predict(features, n), 100),
        ("100 rows: walking the trees, 1 thread", lambda: walk.predict(features, 1), 100),
        ("100 rows: LightGBM, num_threads=1", lambda: booster.predict(features, num_threads=1), 50),
        ("1 row: leaf masks", lambda: forest.predict(one, 1), 2_000),
        ("1 row: walking the trees", lambda: walk.predict(one, 1), 2_000),
        ("1 row: compiled TreeSHAP, 1 thread", lambda: forest.shap(one, 1), 20),
        (f"1 row: compiled TreeSHAP, {n} threads", lambda: forest.shap(one, n), 20),
        (
            "1 row: LightGBM pred_contrib, num_threads=1",
            lambda: booster.predict(one, num_threads=1, pred_contrib=True),
            10,
        ),
    ]
    load = Path("/proc/loadavg").read_text().split()[0]
    lines = [
        "# Predictor steps, in process",
        "",
        f"Command: `.venv/bin/python bench/serving/breakdown.py --threads {n}`; "
        f"{os.cpu_count()} CPUs, 1-minute load {load} at the start. The model of run.py "
        "(LightGBM, 500 trees, 63 leaves); best of 7 loops per step.",
        "",
        "| step | ms per call |",
        "|---|---:|",
    ]
    for name, step, loops in steps:
        lines.append(f"| {name} | {best_ms(step, loops):.3f} |")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
