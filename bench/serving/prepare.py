"""Train the benchmark model once and lay out every server's inputs under bench/serving/.work.

One LightGBM model of the production size (500 trees, 63 leaves; homeval's defaults),
fitted on the real Realtor rows, is registered as ``house-price@production`` in a local
MLflow registry: homeval's predictor and ``mlflow models serve`` load it from there, and
its booster is exported as ``model.txt`` for MLServer's LightGBM runtime (which is fed the
already-encoded features, the only input it can take).  The plain KServe peer gets a
model of the same size behind a scikit-learn ColumnTransformer (one-hot location and
status), the usual way such a predictor is written.

Request bodies (1 and 100 listings) come from real complete rows whose encoded features
are all numbers (JSON has no NaN, and MLServer's tensors need numbers). Both real folders
are read: the north-east and the national sample.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WORK = HERE / ".work"
REALTOR_DIRS = (
    Path(os.environ.get("HOMEVAL_TEST_REALTOR_DIR", REPO.parent / "shared/data/realtor")),
    Path(
        os.environ.get(
            "HOMEVAL_TEST_REALTOR_NATIONAL_DIR", REPO.parent / "shared/data/realtor-national"
        )
    ),
)
sys.path.insert(0, str(REPO))


def env() -> dict[str, str]:
    home = WORK / "home"
    return {
        "HOMEVAL_HOME": str(home),
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
        "HOMEVAL_MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }


def listing_rows(frame: pd.DataFrame) -> list[dict[str, object]]:
    from homeval.data.schema import INPUT_FIELDS
    from homeval.model.encoding import to_records

    rows = to_records(frame.loc[:, list(INPUT_FIELDS)])
    for row in rows:
        row["prev_sold_date"] = str(row["prev_sold_date"])
    return rows


def main() -> None:
    import joblib
    import mlflow
    from lightgbm import LGBMRegressor
    from mlflow import MlflowClient
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    from homeval.data.listing_parser import parse_frame, read_listings_csv
    from homeval.data.schema import INPUT_FIELDS
    from homeval.model.estimator import (
        LIGHTGBM_DEFAULTS,
        build_estimator,
        conformal_interval,
        model_parts,
    )
    from homeval.platform.settings import Settings
    from homeval.registry.packaging import log_price_model
    from homeval.registry.tracking import configure

    WORK.mkdir(exist_ok=True)
    os.environ.update(env())
    files = [f for d in REALTOR_DIRS for f in sorted(d.glob("*.csv"))]
    frames = [parse_frame(read_listings_csv(f)).rows for f in files]
    listings = pd.concat(frames, ignore_index=True).drop_duplicates()
    listings = listings[listings["price"].between(10_000, 20_000_000)].reset_index(drop=True)
    shuffled = listings.sample(frac=1.0, random_state=0).reset_index(drop=True)
    calibrate, train = shuffled.iloc[: len(shuffled) // 7], shuffled.iloc[len(shuffled) // 7 :]
    prices = train["price"].to_numpy(dtype=np.float64)
    print(f"{len(train)} training rows, {len(calibrate)} calibration rows", flush=True)

    # 1. homeval's model, registered (serves homeval's predictor and mlflow models serve)
    configure(Settings())
    estimator = build_estimator("lightgbm", n_jobs=2)
    estimator.fit(train, prices)
    booster = model_parts(estimator).booster
    assert booster.num_trees() == LIGHTGBM_DEFAULTS["n_estimators"] == 500
    interval = conformal_interval(calibrate["price"], estimator.predict(calibrate), 0.9)
    with mlflow.start_run():
        info = log_price_model(estimator, kind="lightgbm", interval=interval, input_example=train)
    version = mlflow.register_model(info.model_uri, "house-price")
    MlflowClient().set_registered_model_alias("house-price", "production", version.version)

    # 2. MLServer: the same trees, fed encoded features
    mlserver = WORK / "mlserver" / "house-price"
    mlserver.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(mlserver / "model.txt"))
    (mlserver / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "house-price",
                "implementation": "mlserver_lightgbm.LightGBMModel",
                "parameters": {"uri": "./model.txt"},
            },
            indent=2,
        )
    )
    (WORK / "mlserver" / "settings.json").write_text(json.dumps({"debug": False}, indent=2))

    # 3. the plain KServe peer: ColumnTransformer + a LightGBM of the same size
    categorical = ["status", "state", "city", "zip_code"]
    numeric = ["bed", "bath", "acre_lot", "house_size"]
    pipeline = Pipeline(
        [
            (
                "columns",
                ColumnTransformer(
                    [
                        ("onehot", OneHotEncoder(handle_unknown="ignore"), categorical),
                        ("numbers", "passthrough", numeric),
                    ]
                ),
            ),
            ("model", LGBMRegressor(**LIGHTGBM_DEFAULTS, n_jobs=2, verbose=-1, random_state=0)),
        ]
    )
    raw = train.loc[:, list(INPUT_FIELDS)].astype(object).where(train.notna(), None)
    pipeline.fit(raw, np.log(prices))
    (WORK / "kserve_ct").mkdir(exist_ok=True)
    joblib.dump(pipeline, WORK / "kserve_ct" / "model.joblib")

    # 4. request bodies from complete real rows
    complete = listings.dropna(subset=["bed", "bath", "acre_lot", "house_size", "prev_sold_date",
                                       "zip_code", "city", "status"])  # fmt: skip
    encoder = model_parts(estimator).encoder
    numeric = ~np.isnan(encoder.encode_records(listing_rows(complete))).any(axis=1)
    rows = complete[numeric].sample(100, random_state=1)
    listing = listing_rows(rows)
    features = encoder.encode_records(listing)
    assert not np.isnan(features).any()
    bodies = WORK / "bodies"
    bodies.mkdir(exist_ok=True)
    for n in (1, 100):
        part = listing[:n]
        (bodies / f"listings_{n}.json").write_text(json.dumps({"instances": part}))
        (bodies / f"mlserver_{n}.json").write_text(
            json.dumps(
                {
                    "inputs": [
                        {
                            "name": "input-0",
                            "shape": [n, features.shape[1]],
                            "datatype": "FP64",
                            "data": features[:n].ravel().tolist(),
                        }
                    ]
                }
            )
        )
        (bodies / f"mlflow_{n}.json").write_text(
            json.dumps(
                {
                    "dataframe_split": {
                        "columns": list(INPUT_FIELDS),
                        "data": [[r[f] for f in INPUT_FIELDS] for r in part],
                    }
                }
            )
        )
    expected = estimator.predict(pd.DataFrame(listing))
    (bodies / "expected_100.json").write_text(json.dumps(expected.tolist()))
    print(f"ready: model version {version.version}, bodies in {bodies}", flush=True)


if __name__ == "__main__":
    main()
