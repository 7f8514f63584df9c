"""Leave-states-out: how the model prices, and how honest its interval is, in a state it
never saw.

Run: .venv/bin/python bench/quality/lso.py [--realtor-dir DIR] [--national-dir DIR] [--seeds 5]
Writes bench/quality/LEAVE_STATES_OUT.md (only for the default folders, or with --out).

Both real folders, cleaned as the pipeline cleans them.  Per seed, the contiguous states
(and DC) are dealt at random into five folds; each fold's states are held out whole and
the model is trained as the pipeline trains it on everything else (a 90/10 property split
into training and calibration listings, the price interval calibrated on both:
``training.train_like_the_pipeline``), then prices the held-out states.  Every contiguous
listing is priced once per seed ("pooled").  Alaska, Hawaii, Puerto Rico, the Virgin
Islands and Guam border no state: each is held out alone and reported apart.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np
import pandas as pd
from common import (
    COVERAGE_GOAL,
    HERE,
    OUTSIDE_CONTIGUOUS,
    bench_args,
    clean_rows,
    describe_data,
    machine,
)

from homeval.model.calibration import predicted_residuals
from homeval.model.estimator import SEGMENTS, price_metrics, segment_names
from homeval.model.training import train_like_the_pipeline
from homeval.platform.settings import Settings

FOLDS = 5
GOAL_MDAPE = 0.31
LOW, HIGH = COVERAGE_GOAL
BEFORE_MDAPE = 0.337  # issue 17's measurement with the model of before


def held_out(frame: pd.DataFrame, states: set[str], seed: int, settings: Settings) -> pd.DataFrame:
    """Train without ``states`` as the pipeline would; price and bound their listings."""
    rest, test = frame[~frame["state"].isin(states)], frame[frame["state"].isin(states)]
    models, intervals = train_like_the_pipeline(rest, settings, kinds=("lightgbm",))
    model, interval = models["lightgbm"], intervals["lightgbm"]
    scored = predicted_residuals(model, test)
    low, high = interval.bounds(scored.predicted, scored.land, scored.novelty)
    return pd.DataFrame(
        {
            "state": test["state"].to_numpy(),
            "price": scored.price,
            "predicted": scored.predicted,
            "inside": (scored.price >= low) & (scored.price <= high),
            "segment": segment_names(scored.land, scored.novelty),
        }
    )


def run_seed(frame: pd.DataFrame, seed: int) -> dict[str, Any]:
    settings = Settings(train_seed=seed)
    contiguous = sorted(set(frame["state"]) - set(OUTSIDE_CONTIGUOUS))
    order = np.random.default_rng(seed).permutation(contiguous)
    folds = [set(order[k::FOLDS]) for k in range(FOLDS)]
    priced = [held_out(frame, fold, seed, settings).assign(fold=k) for k, fold in enumerate(folds)]
    apart = [
        held_out(frame, {state}, seed, settings).assign(fold=-1)
        for state in OUTSIDE_CONTIGUOUS
        if state in set(frame["state"])
    ]
    return {"contiguous": pd.concat(priced), "apart": pd.concat(apart), "folds": folds}


def metrics(rows: pd.DataFrame) -> dict[str, float]:
    out = price_metrics(rows["price"], rows["predicted"])
    out["coverage"] = float(rows["inside"].mean())
    return out


def main() -> int:
    args = bench_args(__doc__, HERE / "LEAVE_STATES_OUT.md")
    started = time.perf_counter()
    load = machine()
    frame = clean_rows(args.dirs)
    runs = [run_seed(frame, seed) for seed in range(args.seeds)]
    seconds = time.perf_counter() - started
    priced = pd.concat(  # every priced listing; fold -1: an island held out alone
        [pd.concat([r["contiguous"], r["apart"]]).assign(seed=s) for s, r in enumerate(runs)]
    )
    (HERE / ".work").mkdir(exist_ok=True)  # kept, to look at again
    priced.to_parquet(HERE / ".work" / "lso_listings.parquet")
    pooled = [metrics(r["contiguous"]) for r in runs]
    median = {k: float(np.median([p[k] for p in pooled])) for k in pooled[0]}
    ok = median["mdape"] <= GOAL_MDAPE
    lines = [
        "# Leave-states-out: states the model never saw",
        "",
        f"Command: `.venv/bin/python bench/quality/lso.py --seeds {args.seeds}` "
        f"({seconds / 60:.0f} min; {load}).",
        "",
        describe_data(frame, args.dirs),
        "",
        f"Per seed (0–{args.seeds - 1}) the contiguous states and DC are dealt at random into "
        f"{FOLDS} folds and each fold is held out whole; the model is trained on the rest "
        "as the pipeline trains it, interval included. Pooled = every contiguous listing "
        "priced once per seed.",
        "",
        "## Goal",
        "",
        "| rows | goal | before (issue 17) | now (median over seeds) | |",
        "|---|---|---|---|---|",
        f"| contiguous states, pooled | MdAPE ≤ {GOAL_MDAPE:.0%} | {BEFORE_MDAPE:.1%} | "
        f"**{median['mdape']:.1%}** (seeds: "
        + ", ".join(f"{p['mdape']:.1%}" for p in pooled)
        + f") | {'met' if ok else 'NOT met'} |",
        "",
        f"R² (log) pooled {median['r2_log']:.3f}, within 10 % {median['within_10pct']:.1%}; "
        f"the 90 % interval held **{median['coverage']:.1%}** of these prices (goal 87.5–92.5 %).",
        "",
        "## Per fold (seed 0)",
        "",
        "| fold | states | listings | MdAPE | R² (log) | interval coverage |",
        "|---|---|---:|---:|---:|---:|",
    ]
    first = runs[0]
    for k, states in enumerate(first["folds"]):
        rows = first["contiguous"][first["contiguous"]["fold"] == k]
        m = metrics(rows)
        lines.append(
            f"| {k} | {', '.join(sorted(states))} | {len(rows):,} | {m['mdape']:.1%} | "
            f"{m['r2_log']:.3f} | {m['coverage']:.1%} |"
        )
    lines += [
        "",
        "## Outside the contiguous states, each held out alone (median over seeds)",
        "",
        "| state | listings | MdAPE | R² (log) | interval coverage |",
        "|---|---:|---:|---:|---:|",
    ]
    for state in OUTSIDE_CONTIGUOUS:
        per = [metrics(r["apart"][r["apart"]["state"] == state]) for r in runs
               if (r["apart"]["state"] == state).sum() > 1]  # fmt: skip
        if not per:
            continue
        n = int((runs[0]["apart"]["state"] == state).sum())
        lines.append(
            f"| {state} | {n:,} | {np.median([p['mdape'] for p in per]):.1%} | "
            f"{np.median([p['r2_log'] for p in per]):.3f} | "
            f"{np.median([p['coverage'] for p in per]):.1%} |"
        )
    lines += [
        "",
        "## Interval coverage by segment",
        "",
        "Every held-out listing is in an unseen state, so its segment is house or land × "
        "new_state. Coverage per seed pooled over its folds: median over seeds (lowest–"
        "highest), and all seeds pooled.",
        "",
        "| listings | segment | per seed | coverage (median) | all seeds pooled |",
        "|---|---|---:|---|---:|",
    ]
    covered: dict[str, bool] = {}
    for label, contiguous in (("contiguous", True), ("outside, each alone", False)):
        rows = priced[(priced["fold"] >= 0) == contiguous]
        for segment in SEGMENTS:
            mine = rows[rows["segment"] == segment]
            if mine.empty:
                continue
            per_seed = mine.groupby("seed")["inside"].agg(["mean", "size"])
            share = per_seed["mean"]
            lines.append(
                f"| {label} | {segment} | {int(per_seed['size'].median()):,} | "
                f"{share.median():.1%} ({share.min():.1%}–{share.max():.1%}) | "
                f"{mine['inside'].mean():.1%} |"
            )
            if contiguous:
                covered[segment] = LOW <= share.median() <= HIGH
    missed = [s for s, ok in covered.items() if not ok]
    lines += [
        "",
        "Goal: coverage 87.5–92.5 % in every segment of the contiguous states: "
        f"**{'met' if not missed else 'NOT met'}**"
        + (f" (outside: {', '.join(missed)})" if missed else "")
        + ". The islands border no state whose prices they share (Puerto Rico's listings "
        "are priced from the mainland's): their figures are reported, not a goal.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return 0 if ok and not missed else 1


if __name__ == "__main__":
    sys.exit(main())
