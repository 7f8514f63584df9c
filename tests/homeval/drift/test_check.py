"""The check: the reference from a real MLflow run, new rows from the store, the report."""

from __future__ import annotations

import json
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from homeval.data.generator.state_mix import state_mix
from homeval.data.listing_parser import parse_frame
from homeval.data.process import process_new
from homeval.data.store import Store
from homeval.data.tables import clean_houses
from homeval.drift.check import DriftPolicy, check_drift, new_clean_rows
from homeval.drift.report import REPORT_NAME, SCORES_NAME, VERDICT_ID
from homeval.drift.result import REFERENCE_ARTIFACT, DriftResult
from homeval.model.price_model import ResolvedModel
from homeval.platform.settings import Settings
from homeval.registry.drift_reports import load_reference
from homeval.registry.runs import CLEAN_MAX_ID_TAG
from homeval.registry.tracking import configure
from homeval.workflow.steps import drift_policy
from tests.homeval.drift.test_compare import listings


def policy(settings: Settings) -> DriftPolicy:
    """What the pipeline's drift step hands the check (``workflow.steps.drift_policy``)."""
    return drift_policy(settings)


def run_check(
    store: Store, settings: Settings, production: object, run: str | None = None
) -> DriftResult:
    """The check as the drift step runs it: MLflow configured once, the reference read
    from the registry, the report into ``settings.reports_dir``."""
    configure(settings)
    return check_drift(store, policy(settings), production=production,
                       load_reference=load_reference, reports_dir=settings.reports_dir,
                       pipeline_run=run)  # fmt: skip


def _fill(store: Store, frame: pd.DataFrame, batch_id: str) -> int:
    """Ingest as the feed would, then clean with the real processing step."""
    store.ingest_batch(parse_frame(frame), batch_id=batch_id)
    process_new(store)
    return store.count(clean_houses)


def _production_with_reference(
    settings: Settings, rows: pd.DataFrame, clean_max_id: int | None
) -> ResolvedModel:
    """A real MLflow run holding a reference sample, as training leaves it."""
    import mlflow

    configure(settings)
    tags = {CLEAN_MAX_ID_TAG: str(clean_max_id)} if clean_max_id is not None else {}
    with mlflow.start_run(tags=tags) as run, tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(REFERENCE_ARTIFACT).name
        rows.astype({"prev_sold_date": "string"}).to_parquet(path, index=False)
        mlflow.log_artifact(str(path), artifact_path=str(Path(REFERENCE_ARTIFACT).parent))
    return ResolvedModel(
        uri="models:/house-price/1", name="house-price", version="1", run_id=run.info.run_id
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'drift.db'}")
    store.init()
    return store


def test_no_production_model_means_no_reference(store: Store, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    result = run_check(store, settings, None, "run-1")
    assert result.detected is None
    assert result.share is None
    assert result.reason == "no reference: there is no production model yet"
    scores = json.loads((settings.reports_dir / SCORES_NAME).read_text())
    assert scores["detected"] is None
    assert scores["pipeline_run"] == "run-1"
    assert not (settings.reports_dir / REPORT_NAME).exists()


def test_only_the_newest_reports_are_kept(store: Store, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", keep_local_runs=2)
    for i in range(4):
        run_check(store, settings, None, f"run-{i}")
    kept = sorted(settings.reports_dir.glob("drift-*.json"))
    assert len(kept) == 2
    newest = json.loads(kept[-1].read_text())
    assert newest["pipeline_run"] == "run-3"
    assert json.loads((settings.reports_dir / SCORES_NAME).read_text()) == newest


def test_check_compares_rows_newer_than_the_models_data(store: Store, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", drift_min_rows=500)
    trained = listings(3_000, seed=11)
    max_id = _fill(store, trained, "b1")
    production = _production_with_reference(settings, trained, clean_max_id=max_id)
    drifted = listings(2_000, seed=12, state_weights=state_mix({"CA": 0.7, "NY": 0.3}))
    total = _fill(store, drifted, "b2")

    result = run_check(store, settings, production, "run-2")

    assert result.current_rows == total - max_id  # only the new rows
    assert result.reference_rows == len(trained)
    assert result.detected is True
    assert result.model_version == "1"
    assert result.reference_run_id == production.run_id
    assert "vs production model v1" in result.reason
    latest = settings.reports_dir / REPORT_NAME
    assert latest.read_bytes() == result.report_path.read_bytes()  # type: ignore[union-attr]
    html = latest.read_text(encoding="utf-8")
    assert "Drifted" in html
    assert "zip_code" in html
    scores = json.loads((settings.reports_dir / SCORES_NAME).read_text())
    assert scores["columns"]["state"]["drifted"] is True
    assert scores["detected"] is True
    assert scores["drifted_columns"] == result.drifted_columns


@pytest.mark.parametrize("on_price", [True, False])
def test_check_follows_the_price_setting(store: Store, tmp_path: Path, on_price: bool) -> None:
    settings = Settings(home=tmp_path / "home", drift_min_rows=500, drift_on_price=on_price)
    trained = listings(3_000, seed=13)
    max_id = _fill(store, trained, "b1")
    production = _production_with_reference(settings, trained, clean_max_id=max_id)
    _fill(store, listings(2_000, seed=14, price_shift=0.3), "b2")  # prices +30 %, nothing else

    result = run_check(store, settings, production)

    assert result.drifted_columns == ["log_price"]
    assert result.detected is on_price
    scores = json.loads((settings.reports_dir / SCORES_NAME).read_text())
    assert scores["price_moved"] is on_price  # what the UI reads to say why
    # the report itself (also the KFP artifact) carries the same verdict above Evidently's,
    # whose "Dataset Drift" line knows the share rule only
    page = (settings.reports_dir / REPORT_NAME).read_text(encoding="utf-8")
    banner = page[page.index(f'<div id="{VERDICT_ID}"') :]
    banner = banner[: banner.index("</div></div>")]
    assert re.search(f'<body[^>]*><div id="{VERDICT_ID}"', page)  # the body's first thing
    if on_price:
        assert "homeval: Drift detected: the price level moved;" in banner
        assert "counts drifted columns only" in banner
    else:
        assert "homeval: No dataset drift:" in banner
        assert "counts drifted columns only" not in banner


def test_too_few_new_rows_leave_drift_unknown(store: Store, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", drift_min_rows=5_000)
    trained = listings(2_000, seed=13)
    max_id = _fill(store, trained, "b1")
    production = _production_with_reference(settings, trained, clean_max_id=max_id)
    _fill(store, listings(400, seed=14), "b2")
    result = run_check(store, settings, production)
    assert result.detected is None
    assert "new clean rows since production model v1" in result.reason
    assert "5,000 needed" in result.reason


def test_a_model_without_reference_is_reported(store: Store, tmp_path: Path) -> None:
    import mlflow

    settings = Settings(home=tmp_path / "home")
    configure(settings)
    with mlflow.start_run() as run:
        pass
    production = ResolvedModel(uri="models:/x/3", version="3", run_id=run.info.run_id)
    result = run_check(store, settings, production)
    assert result.detected is None
    assert f"run {run.info.run_id} of production model v3 has no {REFERENCE_ARTIFACT}" in (
        result.reason
    )


def test_new_rows_by_id_and_by_time_on_both_back_ends(store_url: str) -> None:
    store = Store(store_url)
    store.init()
    first = _fill(store, listings(1_000, seed=21), "b1")
    time.sleep(1.1)  # SQLite's CURRENT_TIMESTAMP has one-second resolution
    cut = datetime.now(UTC)
    time.sleep(1.1)
    total = _fill(store, listings(600, seed=22), "b2")

    by_id, n_id = new_clean_rows(store, after_id=first, limit=10_000)
    by_time, n_time = new_clean_rows(store, after_time=cut, limit=10_000)
    assert n_id == n_time == total - first == len(by_id) == len(by_time)
    sampled, n_all = new_clean_rows(store, limit=250)
    assert (len(sampled), n_all) == (250, total)
    again, _ = new_clean_rows(store, limit=250)
    pd.testing.assert_frame_equal(sampled, again)  # the same sample every time
    none, n_none = new_clean_rows(store, after_time=cut + timedelta(hours=1), limit=10)
    assert n_none == 0
    assert none.empty
    store.dispose()


def test_the_check_judges_by_its_policy_alone(store: Store, tmp_path: Path) -> None:
    """No settings reach the check: the threshold and the folder are the caller's."""
    folder = tmp_path / "elsewhere"
    rule = DriftPolicy(share_threshold=0.45, sample_rows=100, min_rows=1, keep_reports=1)
    for run in ("a", "b"):
        result = check_drift(store, rule, production=None, load_reference=load_reference,
                             reports_dir=folder, pipeline_run=run)  # fmt: skip
    assert result.share_threshold == 0.45
    assert [json.loads(p.read_text())["pipeline_run"] for p in folder.glob("drift-*.json")] == ["b"]


@pytest.mark.parametrize(
    "bad",
    [
        {"share_threshold": 1.2, "sample_rows": 10, "min_rows": 1},
        {"share_threshold": 0.3, "sample_rows": 0, "min_rows": 1},
        {"share_threshold": 0.3, "sample_rows": 10, "min_rows": -1},
    ],
)
def test_a_policy_out_of_range_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        DriftPolicy(**bad)  # type: ignore[arg-type]


def test_the_policy_is_built_from_the_settings_and_a_runs_threshold() -> None:
    settings = Settings(drift_share_threshold=0.3, drift_sample_rows=900, drift_min_rows=40,
                        drift_on_price=False, keep_local_runs=3)  # fmt: skip
    assert drift_policy(settings, 0.5) == DriftPolicy(0.5, 900, 40, False, 3)
    assert drift_policy(settings).share_threshold == 0.3
