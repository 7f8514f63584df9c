"""Does the 90 % price interval hold for houses and for land alike? One width vs per segment.

Run: .venv/bin/python bench/quality/interval.py [--realtor-dir DIR] [--seeds 5]
Writes bench/quality/INTERVAL.md.  Same rows and cleaning as run.py; each seed splits the
properties 60/20/20 into train / calibration / test (by property, as training does),
fits homeval's LightGBM, calibrates the conformal interval on the calibration part both
ways (one width for every listing, and houses and land apart as training now does) and
counts how many test prices fall inside, per segment.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from run import HERE, bench_args, clean_rows

from homeval.features import land_mask
from homeval.modeling import build_estimator, conformal_interval
from homeval.training import split_parts

COVERAGE = 0.9


def measure(frame: pd.DataFrame, seed: int) -> dict[str, dict[str, float]]:
    parts = split_parts(frame["property_id"], test_share=0.2, calibration_share=0.2, seed=seed)
    train, cal, test = (frame[parts == p] for p in ("train", "calibration", "test"))
    model = build_estimator("lightgbm", seed=seed)
    model.fit(train, train["price"].to_numpy())
    cal_land, test_land = land_mask(cal), land_mask(test)
    fitted = model.predict(cal)
    ways = {
        "one width": conformal_interval(cal["price"], fitted, COVERAGE),
        "per segment": conformal_interval(cal["price"], fitted, COVERAGE, land=cal_land),
    }
    predicted, truth = model.predict(test), test["price"].to_numpy()
    out: dict[str, dict[str, float]] = {}
    for way, interval in ways.items():
        low, high = interval.bounds(predicted, test_land)
        inside = (truth >= low) & (truth <= high)
        widths = np.exp(interval.halfwidths(test_land) * np.ones(len(test)))
        for segment, mask in (("houses", ~test_land), ("land", test_land), ("all", None)):
            pick = slice(None) if mask is None else mask
            out[f"{way}|{segment}"] = {
                "coverage": float(inside[pick].mean()),
                "factor": float(np.median(widths[pick])),
                "rows": float(len(truth[pick])),
            }
    return out


def main() -> int:
    args = bench_args(__doc__, HERE / "INTERVAL.md")
    started = time.perf_counter()
    frame = clean_rows(args.realtor_dir)
    runs = [measure(frame, seed) for seed in range(args.seeds)]
    lines = [
        "# The 90 % price interval, houses vs land",
        "",
        f"Command: `.venv/bin/python bench/quality/interval.py --seeds {args.seeds}` "
        f"({time.perf_counter() - started:.0f} s).",
        "",
        f"Real rows of `shared/data/realtor/`, cleaned by the pipeline ({len(frame):,} "
        "listings); per seed a 60/20/20 property split into train / calibration / test, "
        "homeval's LightGBM, a split-conformal interval for 90 % coverage calibrated on the "
        f"calibration part. Mean over {args.seeds} seeds.",
        "",
        "| interval | segment | test listings | share of prices inside | range (price × or ÷) |",
        "|---|---|---:|---:|---:|",
    ]
    for key in runs[0]:
        way, segment = key.split("|")
        mean = {m: float(np.mean([r[key][m] for r in runs])) for m in runs[0][key]}
        lines.append(
            f"| {way} | {segment} | {mean['rows']:,.0f} | {mean['coverage']:.1%} | "
            f"{mean['factor']:.2f} |"
        )
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
