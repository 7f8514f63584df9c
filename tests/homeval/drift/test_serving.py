from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from homeval.data.listing_parser import parse_frame, read_listings_csv
from homeval.data.schema import INPUT_FIELDS
from homeval.data.store import Store
from homeval.data.tables import clean_houses
from homeval.drift.check import ServingDrift, check_serving_drift
from homeval.drift.report import serving_reports_dir
from homeval.drift.result import Reference
from homeval.platform.settings import Settings
from homeval.workflow.serving_drift import serving_policy
from ui.feedback import record_prediction


def check(
    store: Store, settings: Settings, min_rows: int, reference: Reference | None = None
) -> ServingDrift:
    """The serving check as the pipeline runs it (policy from settings, report folder)."""
    policy = serving_policy(settings.model_copy(update={"ui_serving_drift_min_rows": min_rows}))
    return check_serving_drift(store, policy, reports_dir=serving_reports_dir(settings),
                               reference=reference, model_version="7")  # fmt: skip


def store_clean_rows(store: Store, rows: pd.DataFrame) -> None:
    """Real listings as processed teacher rows (what the pipeline's process step keeps)."""
    frame = rows.reset_index(drop=True).copy()
    keys = [str(i) for i in range(len(frame))]
    frame.insert(0, "raw_id", range(1, len(frame) + 1))
    frame.insert(1, "listing_key", keys)
    frame.insert(2, "property_id", keys)
    frame.insert(3, "batch_id", "seed")
    frame.insert(4, "data_origin", "teacher")
    with store.begin() as conn:
        store.insert_frame(conn, clean_houses, frame)


@pytest.fixture(scope="module")
def listings(realtor_files: list[Path]) -> pd.DataFrame:
    return parse_frame(read_listings_csv(realtor_files[1])).rows


def test_too_few_priced_listings_are_not_judged(store_url: str, listings: pd.DataFrame) -> None:
    settings = Settings(database_url=store_url)
    store = Store(store_url)
    store.init()
    store_clean_rows(store, listings.head(500))
    record_prediction(store, listings.iloc[0].to_dict(), predicted_price=1e5, model_version="1")
    drift = check(store, settings, 10)
    assert drift.result.detected is None
    assert drift.result.reason == "only 1 priced listings, 10 needed"
    written = json.loads((serving_reports_dir(settings) / "latest.json").read_text())
    assert written["detected"] is None
    assert not (serving_reports_dir(settings) / "latest.html").exists()
    store.dispose()


def test_people_asking_about_other_places_and_houses_is_serving_drift(
    store_url: str, listings: pd.DataFrame
) -> None:
    settings = Settings(database_url=store_url, drift_sample_rows=2000)
    store = Store(store_url)
    store.init()
    store_clean_rows(store, listings.head(2000))
    # people price big houses in one state only: the mix moves away from the feed's
    asked = listings[listings["state"] == listings["state"].value_counts().index[-1]].head(1)
    big = asked.iloc[0].to_dict()
    for i in range(60):
        listing = {k: big[k] for k in INPUT_FIELDS}
        listing.update(house_size=5000.0 + 10 * i, bed=6.0, bath=5.0)
        record_prediction(store, listing, predicted_price=2e6, model_version="1")
    drift = check(store, settings, 50)
    result = drift.result
    assert drift.user_rows == 60
    assert drift.reference_rows == 2000
    assert result.detected is True
    assert result.columns["state"].drifted
    assert result.columns["log_house_size"].drifted
    assert "log_price" not in result.columns  # user rows have no sale price
    assert "log_price" in result.skipped_columns
    assert result.reason.startswith("60 priced listings compared with 2,000 feed listings")
    assert (serving_reports_dir(settings) / "latest.html").stat().st_size > 10_000
    store.dispose()


def test_before_processing_the_raw_feed_rows_are_the_reference(
    store_url: str, listings: pd.DataFrame
) -> None:
    from homeval.data.schema import ParsedBatch

    settings = Settings(database_url=store_url, drift_sample_rows=1000)
    store = Store(store_url)
    store.init()
    store.ingest_batch(ParsedBatch(rows=listings.head(1000), rejected=[]), batch_id="feed")
    for _, row in listings.head(20).iterrows():
        record_prediction(store, row.to_dict(), predicted_price=1e5, model_version="1")
    drift = check(store, settings, 10)
    assert drift.reference_rows == 1000
    assert drift.user_rows == 20
    assert drift.result.detected is not None
    store.dispose()


def test_the_production_models_reference_is_what_user_rows_are_compared_with(
    store_url: str, listings: pd.DataFrame, tmp_path: Path
) -> None:
    """With a reference (the model's training sample) the feed rows are not read at all."""
    from datetime import UTC, datetime

    settings = Settings(home=tmp_path / "h", database_url=store_url, drift_sample_rows=2000)
    store = Store(store_url)
    store.init()
    store_clean_rows(store, listings.head(50))  # a different, smaller feed
    for _, row in listings.head(30).iterrows():
        record_prediction(store, row.to_dict(), predicted_price=1e5, model_version="7")
    learnt = Reference(listings.head(1200), "run-7", None, datetime.now(UTC))
    drift = check(store, settings, 10, reference=learnt)
    assert drift.reference_rows == 1200
    assert drift.result.reference_run_id == "run-7"
    assert drift.result.model_version == "7"
    assert drift.result.reason.startswith(
        "30 priced listings compared with 1,200 listings production model v7 learnt from"
    )
    assert drift.result.detected is not None
    assert "log_price" not in drift.result.columns
    store.dispose()
