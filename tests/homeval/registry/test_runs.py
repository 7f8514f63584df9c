from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from homeval.data.listing_parser import parse_frame
from homeval.data.process import process_new
from homeval.data.store import Store
from homeval.data.tables import clean_houses
from homeval.drift.result import REFERENCE_ARTIFACT
from homeval.model.training import train_candidates as fit_and_score
from homeval.platform.settings import Settings
from homeval.registry.packaging import load_price_model
from homeval.registry.promotion import production_model, promote
from homeval.registry.runs import TrainResult, record_candidates
from tests.homeval.helpers import cleaned_store


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("HOMEVAL_TRAIN_N_ESTIMATORS", "150")
    monkeypatch.setenv("HOMEVAL_TRAIN_NUM_LEAVES", "31")
    monkeypatch.setenv("HOMEVAL_DRIFT_SAMPLE_ROWS", "1000")
    return Settings()


@pytest.fixture
def store(settings: Settings, realtor_files: list[Path]) -> Store:
    """The real extracts, ingested and cleaned."""
    return cleaned_store(settings, realtor_files)


def train_candidates(
    store: Store, settings: Settings, *, pipeline_run: str | None = None
) -> TrainResult:
    """What the pipeline's train step does: fit and score, then record."""
    trained = fit_and_score(store, settings)
    return record_candidates(trained, store, settings, pipeline_run=pipeline_run)


def test_train_then_promote_then_defend(store: Store, settings: Settings) -> None:
    result = train_candidates(store, settings, pipeline_run="run-1")
    assert {c.kind for c in result.candidates} == {"lightgbm", "decision_tree"}
    assert result.best == "lightgbm"
    best = result.best_candidate
    assert best.metrics["r2_log"] > 0.5
    assert best.metrics["mdape"] < result.baseline["mdape"]
    assert 0.8 <= best.metrics["interval_coverage"] <= 1.0
    # the reference sample travels with the model
    reference = mlflow.artifacts.download_artifacts(
        run_id=best.run_id, artifact_path=REFERENCE_ARTIFACT
    )
    assert len(pd.read_parquet(reference)) == 1000

    first = promote(TrainResult.from_dict(result.to_dict()), store, settings)
    assert first.promoted
    assert (first.version, first.champion_version) == ("1", None)
    assert production_model(settings).version == "1"  # type: ignore[union-attr]

    # a weaker challenger on the same hold-out does not take the alias; this one also
    # trains on a sample of the training listings (HOMEVAL_TRAIN_MAX_ROWS)
    weak = Settings(train_n_estimators=2, train_num_leaves=2, train_max_rows=3_000)
    weak_result = train_candidates(store, weak)
    assert weak_result.rows["train"] <= 3_500 < weak_result.rows["train_available"]
    assert weak_result.rows["test"] == result.rows["test"]  # the hold-out is never sampled
    second = promote(weak_result, store, weak)
    assert not second.promoted
    assert second.champion_metrics["mdape"] < second.challenger_metrics["mdape"]
    assert production_model(settings).version == "1"  # type: ignore[union-attr]

    log = store.training_log()
    assert list(log["status"][:4]) == ["kept_champion", "trained", "promoted", "trained"]
    assert "does not beat champion v1" in log["message"][0]
    assert log["run_ids"][2]["lightgbm"] == best.run_id
    version = MlflowClient().get_model_version(settings.model_name, "1")
    assert "homeval.production_since" in version.tags
    loaded = load_price_model(f"models:/{settings.model_name}@{settings.model_alias}")
    some = store.read_frame(clean_houses.select().limit(5))
    assert np.isfinite(loaded.predict(some)).all()


def test_after_a_market_move_the_challenger_wins_on_fresh_listings(settings: Settings) -> None:
    """Prices doubled: the champion is judged where it will be used, on new listings."""
    from homeval.data.generator.listings import generate

    store = Store.from_settings(settings)
    store.init()
    store.ingest_batch(parse_frame(generate(12_000, seed=1)), batch_id="before")
    process_new(store)
    first = promote(train_candidates(store, settings), store, settings)
    assert first.promoted
    store.ingest_batch(parse_frame(generate(12_000, seed=2, price_shift=1.0)), batch_id="after")
    process_new(store)
    second = promote(train_candidates(store, settings), store, settings)
    assert second.promoted, second.reason
    assert "fresh hold-out" in second.reason
    assert second.challenger_metrics["n"] < 12_000 * 0.25  # only listings v1 never saw
