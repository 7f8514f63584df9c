"""Do LightGBM settings chosen on 9,831 real listings hold on a few hundred thousand rows?

Run:  python bench/quality/experiments/generated.py [--rows 300000] [--seed 5]
Prints a table (NOTES.md quotes it). Not a goal, a sanity check before a default changes:
the real rows are few, the platform is meant for the 2.2M-row national file.

Rows come from ``homeval.data.generator`` (the generator the scale benchmark uses), cleaned by the
pipeline's own rules (``process.clean_frame``), split 80/20 in generation order (the
generator draws listings independently, so no property straddles the split except by
chance). Each setting is homeval's LightGBM with that change, two threads.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # the repo: homeval

from homeval.data.generator.listings import generate  # noqa: E402
from homeval.data.listing_parser import parse_frame  # noqa: E402
from homeval.data.process import clean_frame  # noqa: E402
from homeval.model.estimator import build_estimator, price_metrics  # noqa: E402

SETTINGS: dict[str, dict[str, Any]] = {
    "min_child_samples 20, no extra trees (before 2026-12-01)": {
        "min_child_samples": 20,
        "extra_trees": False,
    },
    "min_child_samples 5, extra trees": {"min_child_samples": 5, "extra_trees": True},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    raw = parse_frame(generate(args.rows, seed=args.seed)).rows.reset_index(drop=True)
    raw = raw.assign(id=np.arange(1, len(raw) + 1), data_origin="teacher", batch_id="bench")
    clean = clean_frame(raw)[0].reset_index(drop=True)
    cut = int(len(clean) * 0.8)
    train, test = clean.iloc[:cut], clean.iloc[cut:]
    print(f"{len(train):,} training and {len(test):,} test rows after cleaning\n")
    print("| LightGBM settings | MdAPE | R² (log) | within 10 % | fit s |")
    print("|---|---|---|---|---|")
    for name, params in SETTINGS.items():
        started = time.perf_counter()
        model = build_estimator("lightgbm", n_jobs=2, **params)
        model.fit(train, train["price"].to_numpy())
        fit = time.perf_counter() - started
        metrics = price_metrics(test["price"], model.predict(test))
        print(
            f"| {name} | {metrics['mdape']:.2%} | {metrics['r2_log']:.4f} "
            f"| {metrics['within_10pct']:.1%} | {fit:.1f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
