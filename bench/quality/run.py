"""Model quality on the real Realtor rows: homeval's candidates vs the seed and a baseline.

Run: .venv/bin/python bench/quality/run.py [--realtor-dir DIR] [--national-dir DIR] [--seeds 5]
Writes bench/quality/RESULTS.md (only for the default folders, or with --out).

Both real folders, ingested and cleaned exactly as the pipeline does (dedup included);
per seed the properties are split 80/20, the four models are trained on the same
training listings and scored on the same test listings: all of them, the north-eastern
and the national ones apart, houses and land apart, and by how well the model knows the
test listing's place.  Figures are medians over the seeds.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np
import pandas as pd
from common import HERE, bench_args, clean_rows, describe_data, machine

from homeval.model.calibration import predicted_residuals
from homeval.model.estimator import fit_candidates, price_metrics
from homeval.model.features import land_mask
from homeval.model.places import NOVELTY
from homeval.model.training import candidate_params, split_parts, zip_median_prices
from homeval.platform.settings import Settings

METRICS = ("mdape", "r2_log", "within_10pct", "rmse_log", "r2")
LGBM = "LightGBM (homeval)"
MODELS = (
    LGBM,
    "DecisionTree (homeval)",
    "seed (LGBM 5 trees, depth 3, scaler + one-hot)",
    "ZIP median",
)
SUBSETS = {
    "all": "every test listing",
    "ne": "north-eastern folder's listings",
    "national": "national sample's listings",
    "houses": "houses (a bed, bath or size)",
    "land": "land (none of them)",
    **{f"place:{name}": f"place: {name.replace('_', ' ')}" for name in NOVELTY},
}
GOALS = {  # subset: (MdAPE at most, R² (log) at least, issue 17's figure of before)
    "ne": (0.185, 0.78, "20.1 % / 0.762"),
    "national": (0.23, 0.72, "27.0 % / 0.668"),
    "place:new_city": (0.29, None, "34.9 %"),
}


def seed_model():  # type: ignore[no-untyped-def]
    """The seed project's model: 5 shallow trees behind scaling + one-hot, on raw price."""
    from lightgbm import LGBMRegressor
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = ["bed", "bath", "acre_lot", "house_size"]
    categorical = ["status", "city", "state", "zip_code"]
    pre = ColumnTransformer(
        [
            ("num", StandardScaler(), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
        ]
    )
    return Pipeline(
        [("pre", pre), ("model", LGBMRegressor(n_estimators=5, max_depth=3, verbose=-1))]
    )


def seed_prices(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    cat = ["status", "city", "state", "zip_code"]
    columns = ["bed", "bath", "acre_lot", "house_size", *cat]

    def seed_input(df: pd.DataFrame) -> pd.DataFrame:
        return df.loc[:, columns].astype(dict.fromkeys(cat, str)).reset_index(drop=True)

    model = seed_model()
    model.fit(seed_input(train), train["price"].to_numpy())
    return np.maximum(model.predict(seed_input(test)), 1.0)


def evaluate(frame: pd.DataFrame, seed: int) -> dict[str, Any]:
    """Every model's scores on every subset of one split's test listings."""
    settings = Settings(train_seed=seed)
    parts = split_parts(frame["property_id"], test_share=0.2, calibration_share=0.0, seed=seed)
    train, test = frame[parts == "train"], frame[parts == "test"]
    params = {kind: candidate_params(kind, settings) for kind in ("lightgbm", "decision_tree")}
    fitted = fit_candidates(params, train, seed)
    scored = predicted_residuals(fitted["lightgbm"], test)
    predictions = {
        LGBM: scored.predicted,
        MODELS[1]: np.asarray(fitted["decision_tree"].predict(test), dtype="float64"),
        MODELS[2]: seed_prices(train, test),
        MODELS[3]: zip_median_prices(train, test),
    }
    land = land_mask(test)
    source = test["source"].to_numpy()
    masks = {
        "all": np.ones(len(test), bool),
        "ne": source == "ne",
        "national": source == "national",
        "houses": ~land,
        "land": land,
        **{f"place:{name}": scored.novelty == k for k, name in enumerate(NOVELTY)},
    }
    truth = test["price"].to_numpy(dtype="float64")
    scores = {
        subset: {m: price_metrics(truth[mask], p[mask]) for m, p in predictions.items()}
        for subset, mask in masks.items()
        if mask.sum() >= 20
    }
    return {"scores": scores, "rows": {k: int(v.sum()) for k, v in masks.items()}}


def median(runs: list[dict[str, Any]], subset: str, model: str, metric: str) -> float:
    return float(
        np.median([r["scores"][subset][model][metric] for r in runs if subset in r["scores"]])
    )


def spread(runs: list[dict[str, Any]], subset: str, model: str) -> str:
    values = [r["scores"][subset][model]["mdape"] for r in runs if subset in r["scores"]]
    return f"{min(values):.1%}–{max(values):.1%}"


def main() -> int:
    args = bench_args(__doc__, HERE / "RESULTS.md")
    started = time.perf_counter()
    load = machine()
    frame = clean_rows(args.dirs)
    runs = [evaluate(frame, seed) for seed in range(args.seeds)]
    seconds = time.perf_counter() - started
    subsets = [s for s in SUBSETS if any(s in r["scores"] for r in runs)]
    verdicts = []
    goal_rows = []
    for subset, (max_mdape, min_r2, before) in GOALS.items():
        mdape = median(runs, subset, LGBM, "mdape")
        r2 = median(runs, subset, LGBM, "r2_log")
        ok = mdape <= max_mdape and (min_r2 is None or r2 >= min_r2)
        verdicts.append(ok)
        goal = f"MdAPE ≤ {max_mdape:.1%}" + (f", R² (log) ≥ {min_r2}" if min_r2 else "")
        now = f"{mdape:.1%}" + (f" / {r2:.3f}" if min_r2 else "")
        goal_rows.append(
            f"| {SUBSETS[subset]} | {goal} | {before} | **{now}** | {'met' if ok else 'NOT met'} |"
        )
    best = {s: min(MODELS, key=lambda m, s=s: median(runs, s, m, "mdape")) for s in subsets}
    best_ok = all(b == LGBM for b in best.values())
    verdicts.append(best_ok)
    rows = runs[0]["rows"]
    lines = [
        "# Model quality on the real Realtor rows",
        "",
        f"Command: `.venv/bin/python bench/quality/run.py --seeds {args.seeds}` "
        f"({seconds / 60:.0f} min; {load}).",
        "",
        describe_data(frame, args.dirs),
        "",
        f"Split by property, 80/20 (seed 0: {rows['all']:,} test listings, {rows['ne']:,} "
        f"north-eastern and {rows['national']:,} national), seeds 0–{args.seeds - 1}; "
        "every figure is the median over the seeds.",
        "",
        "## Goals (issue 17)",
        "",
        "| LightGBM on | goal | before | now | |",
        "|---|---|---|---|---|",
        *goal_rows,
        f"| every subset below | LightGBM best of the four by MdAPE | yes | "
        f"**{'yes' if best_ok else 'no'}** | {'met' if best_ok else 'NOT met'} |",
        "",
    ]
    for subset in subsets:
        n = int(np.median([r["rows"][subset] for r in runs]))
        lines += [
            f"## {SUBSETS[subset]} (~{n:,} test listings a seed)",
            "",
            "| model | MdAPE (seeds' range) | R² (log) | within 10 % | RMSE (log) | R² (price) |",
            "|---|---|---|---|---|---|",
        ]
        for m in MODELS:
            lines.append(
                f"| {m} | {median(runs, subset, m, 'mdape'):.1%} ({spread(runs, subset, m)}) | "
                f"{median(runs, subset, m, 'r2_log'):.3f} | "
                f"{median(runs, subset, m, 'within_10pct'):.1%} | "
                f"{median(runs, subset, m, 'rmse_log'):.3f} | {median(runs, subset, m, 'r2'):.3f} |"
            )
        lines.append("")
    lines += [
        "Notes:",
        "- The seed's model is reproduced without its leak (it fed price per square foot, "
        "derived from the price it predicts); it predicts the raw price, as the seed did.",
        "- homeval's models (`homeval/model/features.py`, `homeval/model/places.py`): sizes, "
        "land and missing-value indicators, years since the previous sale; the ZIP's coordinates "
        "(`zipcodes`); out-of-fold price levels of the place (ZIP → city → county → state "
        "→ region, each shrunk toward the wider one) and of the nearest listings; plus "
        "copies of training listings encoded as if their state were unseen, so the trees "
        "learn to price from the surroundings. Log-price target; LightGBM 500 trees × 63 "
        "leaves, DecisionTree depth 14.",
        "- Place segments: a test listing's ZIP had training listings (known ZIP), else its "
        "city did (new ZIP), else its state did (new city); whole unseen states are "
        "measured in LEAVE_STATES_OUT.md (`lso.py`).",
        "- Why the north-eastern goal is missed: the national sample adds few listings where "
        "the north-eastern folder's are (about 120 in Connecticut, Rhode Island, New "
        "Hampshire, Vermont and Puerto Rico, ~1 % more), and the learning curve "
        "(LEARNING_CURVE.md) put the goal at ~2.1x that folder's own rows. Two changes of "
        "issue 17 cost these rows on purpose: the broker's mean price is no longer a feature "
        "(no listing id may move a price; it bought 0.024 R² (log) here by pricing the "
        "lister), and the price floor is $1,000, not $10,000, so cheap real lots are scored "
        "instead of dropped. The experiments of issue 3 (`experiments/NOTES.md`, written "
        "before issue 17) found nothing among ~60 variants that closes the gap.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
