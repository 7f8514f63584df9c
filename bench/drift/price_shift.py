"""How far must prices move for ``log_price`` to drift?  Scores per relative price move.

Run: .venv/bin/python bench/drift/price_shift.py [--rows 20000]
Writes bench/drift/PRICE_SHIFT.md. Generated listings (homeval.data.generator, no junk): a
reference sample and a current sample of the same market with every price moved by the
given share, compared by the pipeline's own ``homeval.drift.compare.compare``.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from homeval.data.generator.listings import generate
from homeval.data.listing_parser import parse_frame
from homeval.drift.compare import NUM_THRESHOLD, PRICE_COLUMN, compare, drift_columns

HERE = Path(__file__).resolve().parent
SHIFTS = (0.0, 0.03, 0.05, 0.08, 0.10, 0.15, 0.20, 0.30, -0.10)


def listings(n: int, seed: int, price_shift: float = 0.0):  # type: ignore[no-untyped-def]
    frame = generate(n, seed=seed, junk_share=0.0, malformed_share=0.0, price_shift=price_shift)
    return parse_frame(frame).rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=HERE / "PRICE_SHIFT.md")
    args = parser.parse_args()
    started = time.perf_counter()
    reference = listings(args.rows, seed=1)
    lines = [
        "# Price-level moves and the drift check",
        "",
        f"Command: `.venv/bin/python bench/drift/price_shift.py --rows {args.rows}`.",
        "",
        f"{args.rows:,} generated listings per side (seed 1 reference, seed 2 current, every "
        "current price moved by the share below), `homeval.drift.compare.compare` as the pipeline "
        f"runs it. `log_price` drifts at a Wasserstein score of {NUM_THRESHOLD} (distance in "
        "units of the reference's standard deviation).",
        "",
        "| price move | log_price score | drifted | other drifted columns |",
        "|---:|---:|---|---|",
    ]
    for shift in SHIFTS:
        current = listings(args.rows, seed=2, price_shift=shift)
        result, _ = compare(reference, current, share_threshold=0.3, sample_rows=50_000)
        price = result.columns[PRICE_COLUMN]
        others = [c for c in result.drifted_columns if c != PRICE_COLUMN]
        lines.append(
            f"| {shift:+.0%} | {price.score:.3f} | {'yes' if price.drifted else 'no'} | "
            f"{', '.join(others) or '-'} |"
        )
    spread = float(drift_columns(reference)[PRICE_COLUMN].std())
    move = math.exp(NUM_THRESHOLD * spread) - 1
    lines += [
        "",
        "The score is the log of the relative move over the spread of log prices (standard "
        f"deviation {spread:.2f} here): with `HOMEVAL_DRIFT_ON_PRICE` (default on) a market "
        f"whose prices moved about {move:.0%} or more is drift by itself and retrains; "
        "champion/challenger then decides whether the new model serves.",
        "",
        f"({time.perf_counter() - started:.0f} s)",
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
