"""Drift: Evidently on generated listings, the reference from a real MLflow run, the store."""

from __future__ import annotations

import json
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from homeval.data.generator.listings import generate
from homeval.data.generator.state_mix import state_mix
from homeval.data.listing_parser import parse_frame
from homeval.data.process import process_new
from homeval.data.store import Store
from homeval.data.tables import clean_houses
from homeval.drift.check import (
    CATEGORICAL_COLUMNS,
    NUMERIC_COLUMNS,
    REPORT_LATEST,
    SCORES_LATEST,
    VERDICT_ID,
    DriftResult,
    check_drift,
    compare,
    drift_columns,
    new_clean_rows,
    with_verdict,
)
from homeval.model.price_model import ResolvedModel
from homeval.platform.settings import Settings
from homeval.registry.runs import CLEAN_MAX_ID_TAG, REFERENCE_ARTIFACT


def listings(n: int, seed: int, **drift: object) -> pd.DataFrame:
    """Generated listings as the clean table keeps them (parsed, no junk, and with a price:
    a few generated rows have none, as real ones, and cleaning drops those)."""
    frame = generate(n, seed=seed, junk_share=0.0, malformed_share=0.0, **drift)  # type: ignore[arg-type]
    rows = parse_frame(frame).rows
    return rows[rows["price"].notna()]


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return listings(8_000, seed=1)


# --- the comparison -------------------------------------------------------------------------


def test_same_distribution_does_not_drift(reference: pd.DataFrame) -> None:
    result, snapshot = compare(
        reference, listings(6_000, seed=2), share_threshold=0.3, sample_rows=50_000
    )
    assert result.detected is False
    assert result.share == 0.0
    assert set(result.columns) == {*NUMERIC_COLUMNS, *CATEGORICAL_COLUMNS}
    assert all(c.score < c.threshold for c in result.columns.values())
    assert snapshot is not None


def test_shifted_prices_drift_the_target_column(reference: pd.DataFrame) -> None:
    current = listings(6_000, seed=3, price_shift=1.0)
    result, _ = compare(reference, current, share_threshold=0.1, sample_rows=50_000)
    assert result.columns["log_price"].drifted
    assert result.columns["log_price"].fields == ("price",)
    assert result.drifted_columns == ["log_price"]
    assert result.detected is True  # one of ten columns reaches a 0.1 share
    stricter, _ = compare(reference, current, share_threshold=0.3, sample_rows=50_000)
    assert stricter.detected is False  # ...but not the default 0.3
    assert stricter.share == pytest.approx(0.1)


@pytest.mark.parametrize(("shift", "detected"), [(0.0, False), (0.04, False), (0.15, True)])
def test_a_price_level_move_alone_is_drift_when_price_counts(
    reference: pd.DataFrame, shift: float, detected: bool
) -> None:
    """The market moved while the listings stayed alike: one column, but the one that matters."""
    current = listings(6_000, seed=3, price_shift=shift)
    result, _ = compare(
        reference, current, share_threshold=0.3, sample_rows=50_000, price_alone=True
    )
    assert result.detected is detected
    assert result.price_moved is detected
    assert result.drifted_columns == (["log_price"] if detected else [])
    assert ("the price level moved" in result.reason) is detected
    share_only, _ = compare(reference, current, share_threshold=0.3, sample_rows=50_000)
    assert share_only.detected is False


def test_a_new_state_mix_is_dataset_drift(reference: pd.DataFrame) -> None:
    current = listings(6_000, seed=4, state_weights=state_mix({"CA": 0.7, "NY": 0.3}))
    result, _ = compare(reference, current, share_threshold=0.3, sample_rows=50_000)
    assert result.detected is True
    assert {"state", "zip_code", "log_price"} <= set(result.drifted_columns)
    assert result.share is not None
    assert result.share >= 0.3
    assert result.columns["state"].method == "jensenshannon"
    assert result.columns["zip_code"].method == "wasserstein"


def test_share_agrees_with_evidentlys_drifted_columns_count(reference: pd.DataFrame) -> None:
    current = listings(6_000, seed=4, state_weights=state_mix({"CA": 0.7, "NY": 0.3}))
    result, snapshot = compare(reference, current, share_threshold=0.3, sample_rows=50_000)
    counts = [
        m["value"]
        for m in snapshot.dict()["metrics"]
        if m["config"]["type"].endswith(":DriftedColumnsCount")
    ]
    assert counts == [{"count": float(len(result.drifted_columns)), "share": result.share}]


def test_both_sides_are_sampled_to_the_cap(reference: pd.DataFrame) -> None:
    result, _ = compare(reference, listings(3_000, seed=5), share_threshold=0.3, sample_rows=700)
    assert (result.reference_rows, result.current_rows) == (700, 700)
    small, _ = compare(reference, listings(300, seed=5), share_threshold=0.3, sample_rows=700)
    assert (small.reference_rows, small.current_rows) == (700, 300)


def test_a_column_without_values_on_one_side_is_left_out(reference: pd.DataFrame) -> None:
    current = listings(3_000, seed=6).assign(prev_sold_date=None)
    result, _ = compare(reference, current, share_threshold=0.3, sample_rows=50_000)
    assert "prev_sold_year" not in result.columns
    assert result.skipped_columns == {"prev_sold_year": "no values in the current rows"}
    assert len(result.columns) == len(NUMERIC_COLUMNS) + len(CATEGORICAL_COLUMNS) - 1


def test_empty_current_cannot_be_judged(reference: pd.DataFrame) -> None:
    result, snapshot = compare(
        reference, reference.iloc[:0], share_threshold=0.3, sample_rows=50_000
    )
    assert result.detected is None
    assert result.share is None
    assert snapshot is None
    assert "current data has no rows" in result.reason


def test_drift_columns_read_the_reference_parquet_shape(reference: pd.DataFrame) -> None:
    """The reference is written with dates as strings; clean rows carry dates."""
    as_logged = reference.astype({"prev_sold_date": "string"})
    a, b = drift_columns(reference), drift_columns(as_logged)
    pd.testing.assert_frame_equal(a, b)
    assert a["missing_fields"].isin(["0", "1", "2", "3", "4"]).all()
    assert a["log_price"].notna().all()


# --- the check the pipeline runs ----------------------------------------------------------


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

    from homeval.registry.tracking import configure

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
    result = check_drift(store, settings, production=None, pipeline_run="run-1")
    assert result.detected is None
    assert result.share is None
    assert result.reason == "no reference: there is no production model yet"
    scores = json.loads((settings.reports_dir / SCORES_LATEST).read_text())
    assert scores["detected"] is None
    assert scores["pipeline_run"] == "run-1"
    assert not (settings.reports_dir / REPORT_LATEST).exists()


def test_only_the_newest_reports_are_kept(store: Store, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", keep_local_runs=2)
    for i in range(4):
        check_drift(store, settings, production=None, pipeline_run=f"run-{i}")
    kept = sorted(settings.reports_dir.glob("drift-*.json"))
    assert len(kept) == 2
    newest = json.loads(kept[-1].read_text())
    assert newest["pipeline_run"] == "run-3"
    assert json.loads((settings.reports_dir / SCORES_LATEST).read_text()) == newest


def test_check_compares_rows_newer_than_the_models_data(store: Store, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", drift_min_rows=500)
    trained = listings(3_000, seed=11)
    max_id = _fill(store, trained, "b1")
    production = _production_with_reference(settings, trained, clean_max_id=max_id)
    drifted = listings(2_000, seed=12, state_weights=state_mix({"CA": 0.7, "NY": 0.3}))
    total = _fill(store, drifted, "b2")

    result = check_drift(store, settings, production=production, pipeline_run="run-2")

    assert result.current_rows == total - max_id  # only the new rows
    assert result.reference_rows == len(trained)
    assert result.detected is True
    assert result.model_version == "1"
    assert result.reference_run_id == production.run_id
    assert "vs production model v1" in result.reason
    latest = settings.reports_dir / REPORT_LATEST
    assert latest.read_bytes() == result.report_path.read_bytes()  # type: ignore[union-attr]
    html = latest.read_text(encoding="utf-8")
    assert "Drifted" in html
    assert "zip_code" in html
    scores = json.loads((settings.reports_dir / SCORES_LATEST).read_text())
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

    result = check_drift(store, settings, production=production)

    assert result.drifted_columns == ["log_price"]
    assert result.detected is on_price
    scores = json.loads((settings.reports_dir / SCORES_LATEST).read_text())
    assert scores["price_moved"] is on_price  # what the UI reads to say why
    # the report itself (also the KFP artifact) carries the same verdict above Evidently's,
    # whose "Dataset Drift" line knows the share rule only
    page = (settings.reports_dir / REPORT_LATEST).read_text(encoding="utf-8")
    banner = page[page.index(f'<div id="{VERDICT_ID}"') :]
    banner = banner[: banner.index("</div></div>")]
    assert re.search(f'<body[^>]*><div id="{VERDICT_ID}"', page)  # the body's first thing
    if on_price:
        assert "homeval: Drift detected: the price level moved;" in banner
        assert "counts drifted columns only" in banner
    else:
        assert "homeval: No dataset drift:" in banner
        assert "counts drifted columns only" not in banner


def test_the_verdict_goes_first_in_any_page() -> None:
    result = DriftResult(True, 0.5, {}, 10, 10, "5 of 10 columns <drifted>", share_threshold=0.3)
    page = with_verdict("<html><body class='x'><p>report</p></body></html>", result)
    assert page.startswith("<html><body class='x'><div id=\"homeval-verdict\"")
    assert "&lt;drifted&gt;" in page  # reasons are escaped
    assert page.endswith("<p>report</p></body></html>")
    assert with_verdict("<p>bare</p>", result).endswith("</div><p>bare</p>")


def test_too_few_new_rows_leave_drift_unknown(store: Store, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", drift_min_rows=5_000)
    trained = listings(2_000, seed=13)
    max_id = _fill(store, trained, "b1")
    production = _production_with_reference(settings, trained, clean_max_id=max_id)
    _fill(store, listings(400, seed=14), "b2")
    result = check_drift(store, settings, production=production)
    assert result.detected is None
    assert "new clean rows since production model v1" in result.reason
    assert "5,000 needed" in result.reason


def test_a_model_without_reference_is_reported(store: Store, tmp_path: Path) -> None:
    import mlflow

    from homeval.registry.tracking import configure

    settings = Settings(home=tmp_path / "home")
    configure(settings)
    with mlflow.start_run() as run:
        pass
    production = ResolvedModel(uri="models:/x/3", version="3", run_id=run.info.run_id)
    result = check_drift(store, settings, production=production)
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
