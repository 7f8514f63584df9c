"""The pipeline's steps without KFP: gates and drift log their decisions, a run reads back."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from homeval.data.generator.listings import generate
from homeval.data.listing_parser import parse_frame
from homeval.data.process import process_new
from homeval.data.store import Store
from homeval.drift.report import serving_reports_dir
from homeval.platform.settings import Settings
from homeval.workflow.serving_drift import serving_drift_step
from homeval.workflow.steps import (
    data_gates_step,
    drift_step,
    metrics_of,
    override,
    run_decisions,
)


def test_override_uses_the_setting_only_when_the_run_left_it_unset() -> None:
    assert override(-1, 20_000) == 20_000
    assert override(-1.0, 0.8) == 0.8
    assert override(0, 20_000) == 0
    assert override(0.5, 0.8) == 0.5


def test_metrics_of_keeps_finite_numbers() -> None:
    values = {"a": 1, "b": 2.5, "c": True, "d": math.nan, "e": "text", "f": None, "g": math.inf}
    assert metrics_of(values, "p_") == {"p_a": 1.0, "p_b": 2.5, "p_c": 1.0}


@pytest.fixture
def settings(tmp_path: Path, store_url: str) -> Settings:
    return Settings(home=tmp_path / "home", database_url=store_url)


def _fill(settings: Settings, n: int, origin: str = "teacher", seed: int = 0) -> None:
    store = Store.from_settings(settings)
    store.init()
    rows = parse_frame(generate(n, seed=seed, junk_share=0.0, malformed_share=0.0))
    store.ingest_batch(rows, batch_id=f"{origin}-{seed}", origin=origin)  # type: ignore[arg-type]
    process_new(store)
    store.dispose()


def test_data_gates_close_and_log_the_reason(settings: Settings) -> None:
    _fill(settings, 300)
    decision = data_gates_step(
        settings, min_clean_rows=1_000, min_teacher_share=-1, pipeline_run="r1"
    )
    assert not decision.passed
    assert decision.gate == "rows"
    store = Store.from_settings(settings)
    log = store.training_log()
    assert list(log["step"]) == ["gates"]
    assert log["status"][0] == "skipped"
    assert log["message"][0].startswith("training skipped: only ")
    assert log["pipeline_run"][0] == "r1"
    assert log["metrics"][0]["min_clean_rows"] == 1_000
    assert log["metrics"][0]["min_teacher_share"] == settings.min_teacher_share
    decisions = run_decisions(store, "r1")
    assert not decisions.trained
    assert decisions.skip_reason == decision.reason
    assert decisions.clean_rows == log["metrics"][0]["clean_rows"]
    store.dispose()


def test_user_rows_close_the_teacher_gate(settings: Settings) -> None:
    _fill(settings, 300)
    _fill(settings, 200, origin="user", seed=1)
    decision = data_gates_step(settings, min_clean_rows=10, min_teacher_share=0.8, pipeline_run="r")
    assert not decision.passed
    assert decision.gate == "teacher"
    assert "only 60.0% of 500 raw rows" in decision.reason


def test_open_gates_are_logged_as_passed(settings: Settings) -> None:
    _fill(settings, 300)
    decision = data_gates_step(settings, min_clean_rows=10, min_teacher_share=0.5, pipeline_run="r")
    assert decision.passed
    store = Store.from_settings(settings)
    assert list(store.training_log()["status"]) == ["passed"]
    assert run_decisions(store, "r").skip_reason is None
    store.dispose()


def test_drift_without_a_champion_asks_for_training(settings: Settings) -> None:
    _fill(settings, 300)
    result, decision = drift_step(settings, drift_share_threshold=0.25, pipeline_run="r2")
    assert result.detected is None
    assert result.share_threshold == 0.25  # the run's override reached the check
    assert decision.passed
    assert decision.reason.startswith("no production model yet: no reference")
    store = Store.from_settings(settings)
    log = store.training_log()
    assert list(log["step"]) == ["drift"]  # no skip row: training goes ahead
    assert log["status"][0] == "unknown"
    decisions = run_decisions(store, "r2")
    assert decisions.drift_detected is None
    assert decisions.drift_share is None
    store.dispose()
    # serving drift was checked beside it (no priced listings yet) and both were published
    serving = json.loads((serving_reports_dir(settings) / "latest.json").read_text())
    assert serving["detected"] is None
    assert serving["pipeline_run"] == "r2"
    assert serving["reason"].startswith("only 0 priced listings")
    assert published_kinds(settings) == {"drift-check": 1, "serving-drift-check": 1}


def published_kinds(settings: Settings) -> dict[str, int]:
    """How many drift-check runs of each kind the platform's MLflow holds."""
    from collections import Counter

    from mlflow import MlflowClient

    client = MlflowClient(settings.mlflow_tracking_uri)
    found = client.get_experiment_by_name(settings.mlflow_experiment)
    assert found is not None
    runs = client.search_runs([found.experiment_id], "tags.`homeval.kind` LIKE '%drift-check'")
    return dict(Counter(run.data.tags["homeval.kind"] for run in runs))


def test_serving_drift_runs_on_its_own_and_is_published(settings: Settings) -> None:
    """``homeval drift serving``'s step: priced listings against the feed (no model yet)."""
    _fill(settings, 400)
    _fill(settings, 80, origin="user", seed=3)  # user rows stay raw: processing drops them
    found = serving_drift_step(settings.model_copy(update={"ui_serving_drift_min_rows": 50}))
    assert found.user_rows == 80
    assert 0 < found.reference_rows <= 400  # the clean feed rows
    assert found.result.detected is not None
    assert found.result.reason.startswith("80 priced listings compared with")
    assert (serving_reports_dir(settings) / "latest.html").is_file()
    assert published_kinds(settings) == {"serving-drift-check": 1}


def test_run_decisions_of_an_unknown_run_are_empty(settings: Settings) -> None:
    store = Store.from_settings(settings)
    store.init()
    decisions = run_decisions(store, "nobody")
    assert decisions.to_dict() == {
        "collected_rows": 0,
        "clean_rows": 0,
        "drift_detected": None,
        "drift_share": None,
        "trained": False,
        "promoted": False,
        "model_version": None,
        "skip_reason": None,
    }
    store.dispose()
