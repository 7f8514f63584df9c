from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest

from homeval.model.training import split_parts, train_candidates, zip_median_prices
from homeval.platform.settings import Settings
from tests.conftest import mlflow_at
from tests.homeval.helpers import cleaned_store


def test_split_is_by_property_and_stable() -> None:
    ids = pd.Series([f"p{i % 700}" for i in range(5_000)])
    parts = split_parts(ids, test_share=0.15, calibration_share=0.1, seed=0)
    per_property = pd.DataFrame({"id": ids, "part": parts}).groupby("id")["part"].nunique()
    assert per_property.max() == 1  # repeat listings never straddle the split
    shares = pd.Series(parts).value_counts(normalize=True)
    assert shares["test"] == pytest.approx(0.15, abs=0.04)
    assert shares["calibration"] == pytest.approx(0.10, abs=0.04)
    again = split_parts(
        ids[::-1].reset_index(drop=True), test_share=0.15, calibration_share=0.1, seed=0
    )
    assert list(again[::-1]) == list(parts)  # order does not matter, only the property


def test_zip_median_falls_back_to_city_then_state() -> None:
    train = pd.DataFrame({"zip_code": ["1", "1", "2"], "state": ["A", "A", "A"],
                          "city": ["x", "x", "y"], "price": [100.0, 300.0, 1000.0]})  # fmt: skip
    target = pd.DataFrame({"zip_code": ["1", "9", "9", None], "state": ["A", "A", "A", "B"],
                           "city": ["x", "y", "z", "w"]})  # fmt: skip
    assert list(zip_median_prices(train, target)) == [200.0, 1000.0, 300.0, 300.0]


def test_training_scores_every_candidate_and_records_nothing(
    realtor_files: list[Path], tmp_path: Path
) -> None:
    """Training is the model's business alone: no MLflow run is started or logged, so a
    benchmark trains exactly as the pipeline does; ``homeval.registry.runs`` records it."""
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    small = Settings(train_n_estimators=20, train_num_leaves=15, train_max_rows=3_000)
    store = cleaned_store(small, realtor_files)
    with mlflow_at(tracking):
        trained = train_candidates(store, small)
        assert mlflow.active_run() is None
        assert mlflow.get_tracking_uri() == tracking  # nothing reconfigured MLflow
    assert set(trained.fitted) == {"lightgbm", "decision_tree"}
    assert trained.best("mdape") in trained.fitted
    for fitted in trained.fitted.values():
        assert 0.5 <= fitted.metrics["interval_coverage"] <= 1.0
        assert fitted.metrics["mdape"] > 0
    assert trained.rows["train"] <= 3_500 < trained.rows["train_available"]
    assert len(trained.train) == trained.rows["train"]
    assert not (tmp_path / "mlflow.db").exists()  # and nothing was written to it
    assert store.training_log().empty
