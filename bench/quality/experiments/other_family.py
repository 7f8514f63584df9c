"""Issue 3: is the ceiling LightGBM's, or the rows'?  A second model family on the same splits.

Run (two cores, ~4 min):  PYTHONPATH=DIR python bench/quality/experiments/other_family.py
Writes bench/quality/experiments/other_family.json and prints the table NOTES.md quotes.

CatBoost handles high-cardinality categoricals its own way (ordered target statistics: each
row is encoded from the rows before it in a random order, the leak-free counterpart of
homeval's out-of-fold encodings), so it is the natural check that the encoding, not the
listings, is what stops R² (log) below 0.80.  Three models against homeval's shipped
LightGBM on run.py's rows and five property-grouped splits:

* CatBoost on the raw fields (ZIP, ZIP3, city, state, broker, status as categoricals);
* CatBoost on the raw fields plus homeval's encoded features (the ListingEncoder fitted on
  the training rows, as in the pipeline);
* the 50/50 blend (mean log price) of the second with homeval's LightGBM.

CatBoost is not a project dependency: install it apart, without its dependencies so the
venv's numpy and pandas stay the ones imported (``uv pip install --python .venv/bin/python
--target DIR --no-deps catboost six graphviz``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # bench/quality: run.py
sys.path.insert(0, str(HERE.parents[2]))  # the repo: homeval

from common import DEFAULT_DATA  # noqa: E402
from common import clean_folder as clean_rows  # noqa: E402

from homeval.model.estimator import build_estimator, price_metrics  # noqa: E402
from homeval.model.features import ListingEncoder, land_mask  # noqa: E402
from homeval.model.training import split_parts  # noqa: E402

CATEGORICAL = ["state", "city", "zip_code", "zip3", "brokered_by", "status"]
CATBOOST = {"iterations": 2000, "learning_rate": 0.05, "depth": 6, "loss_function": "RMSE"}


def raw_features(rows: pd.DataFrame, reference: pd.Timestamp) -> pd.DataFrame:
    """The listing as typed: sizes, years since the last sale, land flag, text categories."""
    out = rows[["bed", "bath", "acre_lot", "house_size"]].astype("float64")
    sold = pd.to_datetime(rows["prev_sold_date"], errors="coerce")
    out["years_since_sale"] = (reference - sold).dt.days / 365.25
    out["land"] = land_mask(rows).astype("float64")
    zips = rows["zip_code"].astype("string")
    for name, values in (
        ("state", rows["state"]),
        ("city", rows["city"]),
        ("zip_code", zips),
        ("zip3", zips.str[:3]),
        ("brokered_by", rows["brokered_by"]),
        ("status", rows["status"]),
    ):
        out[name] = values.astype("string").fillna("NA").astype(str)
    return out


def evaluate(frame: pd.DataFrame, seed: int) -> dict[str, dict[str, float]]:
    from catboost import CatBoostRegressor

    parts = split_parts(frame["property_id"], test_share=0.2, calibration_share=0.0, seed=seed)
    train, test = frame[parts == "train"], frame[parts == "test"]
    y = np.log(train["price"].to_numpy())
    reference = pd.to_datetime(train["prev_sold_date"], errors="coerce").max()
    raw_train, raw_test = raw_features(train, reference), raw_features(test, reference)
    encoder = ListingEncoder(random_state=seed)
    enc_train = encoder.fit_transform(train, y).set_axis(raw_train.index).add_prefix("enc_")
    enc_test = encoder.transform(test).set_axis(raw_test.index).add_prefix("enc_")

    def catboost(x_train: pd.DataFrame, x_test: pd.DataFrame) -> np.ndarray:
        model = CatBoostRegressor(
            **CATBOOST,
            random_seed=seed,
            thread_count=2,
            verbose=0,
            cat_features=CATEGORICAL,
            allow_writing_files=False,  # no catboost_info/ in the working directory
        )
        return np.asarray(model.fit(x_train, y).predict(x_test))

    log_pred: dict[str, np.ndarray] = {
        "LightGBM (homeval, shipped)": np.log(
            build_estimator("lightgbm", seed=seed).fit(train, train["price"]).predict(test)
        ),
        "CatBoost, raw fields": catboost(raw_train, raw_test),
        "CatBoost, raw fields + homeval encodings": catboost(
            pd.concat([raw_train, enc_train], axis=1), pd.concat([raw_test, enc_test], axis=1)
        ),
    }
    log_pred["blend: LightGBM + CatBoost with encodings"] = (
        log_pred["LightGBM (homeval, shipped)"]
        + log_pred["CatBoost, raw fields + homeval encodings"]
    ) / 2
    return {name: price_metrics(test["price"], np.exp(p)) for name, p in log_pred.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--realtor-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=HERE / "other_family.json")
    args = parser.parse_args()
    frame = clean_rows(args.realtor_dir)
    per_seed: list[dict[str, dict[str, float]]] = []
    for seed in range(args.seeds):
        started = time.perf_counter()
        per_seed.append(evaluate(frame, seed))
        print(f"split seed {seed}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    names = list(per_seed[0])
    base = names[0]
    table: dict[str, Any] = {}
    print("| model | MdAPE | Δ paired | R² (log) | Δ paired |")
    print("|---|---|---|---|---|")
    for name in names:
        row: dict[str, Any] = {}
        for metric, scale in (("mdape", 100.0), ("r2_log", 1.0)):
            values = np.array([s[name][metric] for s in per_seed]) * scale
            delta = values - np.array([s[base][metric] for s in per_seed]) * scale
            row[metric] = {
                "mean": values.mean(),
                "sd": values.std(),
                "delta_mean": delta.mean(),
                "delta_sd": delta.std(),
                "per_seed": values.tolist(),
            }
        table[name] = row
        md, r2 = row["mdape"], row["r2_log"]
        print(
            f"| {name} | {md['mean']:.1f} % ± {md['sd']:.1f} | "
            f"{md['delta_mean']:+.1f} ± {md['delta_sd']:.1f} pt | "
            f"{r2['mean']:.3f} ± {r2['sd']:.3f} | {r2['delta_mean']:+.3f} ± {r2['delta_sd']:.3f} |"
        )
    args.out.write_text(json.dumps({"catboost": CATBOOST, "models": table}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
