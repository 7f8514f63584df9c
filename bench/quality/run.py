"""Model quality on the real Realtor rows: homeval's candidates vs the seed and a baseline.

Run: .venv/bin/python bench/quality/run.py [--realtor-dir DIR] [--seeds 5]
Writes bench/quality/RESULTS.md. The rows are ingested and cleaned exactly as the
pipeline does (dedup included); the split is by property, averaged over several seeds.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from homeval.features import land_mask
from homeval.modeling import build_estimator, price_metrics
from homeval.process import process_new
from homeval.schema import parse_frame, read_listings_csv
from homeval.store import Store
from homeval.training import load_clean, split_parts, zip_median_prices

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[2] / "shared" / "data" / "realtor"
METRICS = ("mdape", "r2_log", "within_10pct", "rmse_log", "r2")
HOUSES = "_houses:"
"""Key prefix of a model's scores on the test houses alone (listings with a bed, bath or size)."""


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


def clean_rows(realtor_dir: Path) -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{Path(folder) / 'quality.db'}")
        store.init()
        for path in sorted(realtor_dir.glob("*.csv")):
            store.ingest_batch(parse_frame(read_listings_csv(path)), batch_id=path.name)
        process_new(store)
        frame = load_clean(store)
        store.dispose()
    return frame


def evaluate(frame: pd.DataFrame, seed: int) -> dict[str, dict[str, float]]:
    parts = split_parts(frame["property_id"], test_share=0.2, calibration_share=0.0, seed=seed)
    train, test = frame[parts == "train"], frame[parts == "test"]
    y = train["price"].to_numpy()
    predictions: dict[str, np.ndarray] = {}
    for name, model in (
        ("LightGBM (homeval)", build_estimator("lightgbm", seed=seed)),
        ("DecisionTree (homeval)", build_estimator("decision_tree", seed=seed)),
    ):
        model.fit(train, y)
        predictions[name] = model.predict(test)
    seed_pipe = seed_model()
    cat = ["status", "city", "state", "zip_code"]
    columns = ["bed", "bath", "acre_lot", "house_size", *cat]

    def seed_input(df: pd.DataFrame) -> pd.DataFrame:
        return df.loc[:, columns].astype(dict.fromkeys(cat, str)).reset_index(drop=True)

    seed_pipe.fit(seed_input(train), y)
    predictions["seed (LGBM 5 trees, depth 3, scaler + one-hot)"] = np.maximum(
        seed_pipe.predict(seed_input(test)), 1.0
    )
    predictions["ZIP median"] = zip_median_prices(train, test)

    land = land_mask(test)
    truth = test["price"].to_numpy()
    out: dict[str, dict[str, float]] = {}
    for name, predicted in predictions.items():
        out[name] = price_metrics(truth, predicted)
        out[HOUSES + name] = price_metrics(truth[~land], predicted[~land])
    out["_segments"] = segment_errors(test, predictions["LightGBM (homeval)"], land)
    out["_rows"] = {
        "train": float(len(train)),
        "test": float(len(test)),
        "houses": float((~land).sum()),
    }
    return out


def segment_errors(test: pd.DataFrame, predicted: np.ndarray, land: np.ndarray) -> dict[str, float]:
    """MdAPE per segment: where the errors are (houses vs land, by state)."""
    ape = np.abs(predicted - test["price"].to_numpy()) / test["price"].to_numpy()
    out: dict[str, float] = {}
    for state in sorted(test["state"].unique()):
        for label, mask in (("houses", ~land), ("land", land)):
            rows = (test["state"].to_numpy() == state) & mask
            if rows.sum() >= 20:
                out[f"{state}|{label}|{int(rows.sum())}"] = float(np.median(ape[rows]))
    out[f"all|houses|{int((~land).sum())}"] = float(np.median(ape[~land]))
    out[f"all|land|{int(land.sum())}"] = float(np.median(ape[land]))
    return out


def bench_args(description: str | None, out: Path) -> argparse.Namespace:
    """The options every script here shares; exits 2 when the real rows are missing."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--realtor-dir",
        type=Path,
        default=Path(os.environ.get("HOMEVAL_TEST_REALTOR_DIR", DEFAULT_DATA)),
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=out)
    args = parser.parse_args()
    if not args.realtor_dir.is_dir():
        parser.error(f"real rows not found in {args.realtor_dir}")
    return args


def score_rows(
    table: dict[str, dict[str, tuple[float, float]]], names: list[str], strip: str = ""
) -> list[str]:
    """Markdown rows of the score table; ``strip`` drops a key prefix from the names."""
    lines = []
    for m in names:
        t = table[m]
        lines.append(
            f"| {m.removeprefix(strip)} | {t['mdape'][0]:.1%} ± {t['mdape'][1]:.1%} | "
            f"{t['r2_log'][0]:.3f} ± {t['r2_log'][1]:.3f} | {t['within_10pct'][0]:.1%} | "
            f"{t['rmse_log'][0]:.3f} | {t['r2'][0]:.3f} |"
        )
    return lines


def main() -> int:
    args = bench_args(__doc__, HERE / "RESULTS.md")
    started = time.perf_counter()
    frame = clean_rows(args.realtor_dir)
    runs = [evaluate(frame, seed) for seed in range(args.seeds)]
    models = [k for k in runs[0] if not k.startswith("_")]
    segments = runs[0]["_segments"]
    table = {
        m: {k: (np.mean([r[m][k] for r in runs]), np.std([r[m][k] for r in runs])) for k in METRICS}
        for m in [*models, *(HOUSES + m for m in models)]
    }
    rows = runs[0]["_rows"]
    best = min(models, key=lambda m: table[m]["mdape"][0])
    lgbm = table["LightGBM (homeval)"]
    ok = lgbm["mdape"][0] <= 0.18 and lgbm["r2_log"][0] >= 0.80 and best == "LightGBM (homeval)"
    lines = [
        "# Model quality on the real Realtor rows",
        "",
        f"Command: `.venv/bin/python bench/quality/run.py --seeds {args.seeds}` "
        f"({time.perf_counter() - started:.0f} s on {platform.machine()}, {os.cpu_count()} cores).",
        "",
        f"Data: the real rows of `shared/data/realtor/` (41,695 rows), ingested and cleaned by "
        f"the pipeline's own process step: {len(frame):,} distinct listings of "
        f"{frame['property_id'].nunique():,} properties. Split by property (80/20, "
        f"~{int(rows['train']):,} train / ~{int(rows['test']):,} test rows), "
        f"repeated with {args.seeds} split seeds: mean ± standard deviation.",
        "",
        "| model | MdAPE | R² (log) | within 10 % | RMSE (log) | R² (price) |",
        "|---|---|---|---|---|---|",
    ]
    lines += score_rows(table, models)
    houses = table[HOUSES + "LightGBM (homeval)"]
    lines += [
        "",
        f"Goal: LightGBM MdAPE <= 18 % and R² (log) >= 0.80, best of the four: "
        f"**{'met' if ok else 'NOT met'}** (LightGBM MdAPE {lgbm['mdape'][0]:.1%}, "
        f"R² (log) {lgbm['r2_log'][0]:.3f}; best by MdAPE: {best}).",
        "",
        f"The same models on the test houses alone (listings with a bed, bath or size: "
        f"~{int(rows['houses']):,} of the ~{int(rows['test']):,} test rows; land left out), "
        f"for whoever restates the goal: LightGBM {houses['mdape'][0]:.1%} / "
        f"{houses['r2_log'][0]:.3f}, the stated numbers "
        f"{'hold' if houses['mdape'][0] <= 0.18 and houses['r2_log'][0] >= 0.80 else 'miss'} "
        "there. The goal as stated is on every listing.",
        "",
        "| model (houses only) | MdAPE | R² (log) | within 10 % | RMSE (log) | R² (price) |",
        "|---|---|---|---|---|---|",
        *score_rows(table, [HOUSES + m for m in models], strip=HOUSES),
        "",
        "Where LightGBM's errors are (split seed 0; segments with at least 20 test rows):",
        "",
        "| state | listings | test rows | MdAPE |",
        "|---|---|---|---|",
        *(
            f"| {key.split('|')[0]} | {key.split('|')[1]} | {key.split('|')[2]} | {value:.1%} |"
            for key, value in segments.items()
        ),
        "",
        "Notes:",
        "- The seed's model is reproduced without its leak (it fed price per square foot, "
        "derived from the price it predicts); it predicts the raw price, as the seed did.",
        "- homeval's models: hierarchical out-of-fold target encodings of ZIP/city/state, "
        "land and missing-value indicators, years since the previous sale; log-price target; "
        "LightGBM 500 trees × 63 leaves (extremely randomised thresholds, leaves of at "
        "least 5 listings), DecisionTree depth 14.",
        "- The real rows cover PR, VI and five north-eastern states only (see the data README); "
        "figures on the national file will differ.",
        "- Why the goal is missed (see the segment table): houses in Connecticut and Rhode "
        "Island are priced at 11-13 %, but about a fifth of the test listings are land (no "
        "beds, baths or size) and a quarter are in Puerto Rico and the Virgin Islands, where "
        "prices vary most for the same described house; the worst 1 % of test rows carry a "
        "quarter of the squared log error (a 1-acre parcel at $9.5M, a 6,680-acre 'house' at "
        "$39,900), which caps R² (log). Tried and kept: price per acre and local hedonic "
        "prices (+0.6 pt R²), a Huber loss (-0.5 pt MdAPE), and keeping, of a listing's "
        "copies, the one that names its broker and street (before, the old Kaggle file's "
        "copies without ids won when that file came first: +0.02 R² (log)), whatever run "
        "each copy arrives in; a lot equal to the house size made missing (three Puerto Rico "
        "flats on '1,600-1,954 acres': 19.5 % → 19.4 % MdAPE, DecisionTree R² (log) 0.638 → "
        "0.652). Tried and not "
        "kept (no gain beyond noise): broker target encoding alone, smoothing 2-20, "
        "L1 loss, 7-31 leaves, learning rates 0.01-0.05 with 500-2,000 trees.",
        "- 38 more variants, 5 seeds each, paired against this model "
        "(`experiments/NOTES.md`): ZIP-centroid distance-kernel encodings, the nearest "
        "similar listings, sizes relative to the ZIP median, price spread per place and more "
        "broker encodings with feature subsampling gain together ~0.7 pt MdAPE and +0.01 R² "
        "(log), at 66 features instead of 23 and a ZIP coordinates table: not adopted, "
        "still short of the goal. Separate land and house models, L2 or other Huber "
        "settings, min_child_samples alone, L2 regularisation, bagging and dropping outlying "
        "training rows gave nothing.",
        "- A random search of LightGBM's settings (70 trials, tuned inside one split's "
        "training rows; `experiments/search.py`) ranked the settings of before 2026-12-01 "
        "fifth; extremely randomised thresholds with leaves of 5 listings bought ~0.8 pt "
        "MdAPE on each of five splits and no R² (log), and are now the default (20.0 % → "
        "19.5 % above). With the feature groups of the previous note as well, the closest "
        "model found is 18.3 % MdAPE and 0.785 R² (log) (18.6 % / 0.778 at the 500 trees "
        "the predictor is benchmarked with): both halves of the goal still missed "
        "(`experiments/NOTES.md`).",
        "- The model is short of rows more than of settings (`learning_curve.py`, "
        "LEARNING_CURVE.md): on fixed test listings, each doubling of the training "
        "properties still buys ~1.3 pt MdAPE and +0.026 R² (log) (50 % → 100 %, paired "
        "over five splits); at that rate both halves of the goal need about 2.1x these "
        "training listings (~16,500), a lower bound since learning curves flatten.",
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
