"""The comparison: Evidently's distances on generated listings, sampling, left-out columns."""

from __future__ import annotations

import pandas as pd
import pytest

from homeval.data.generator.listings import generate
from homeval.data.generator.state_mix import state_mix
from homeval.data.listing_parser import parse_frame
from homeval.drift.compare import (
    CATEGORICAL_COLUMNS,
    NUMERIC_COLUMNS,
    compare,
    drift_columns,
    evidently_page,
    sample,
)


def listings(n: int, seed: int, **drift: object) -> pd.DataFrame:
    """Generated listings as the clean table keeps them (parsed, no junk, and with a price:
    a few generated rows have none, as real ones, and cleaning drops those)."""
    frame = generate(n, seed=seed, junk_share=0.0, malformed_share=0.0, **drift)  # type: ignore[arg-type]
    rows = parse_frame(frame).rows
    return rows[rows["price"].notna()]


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return listings(8_000, seed=1)


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


def test_a_share_threshold_outside_0_to_1_is_refused(reference: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        compare(reference, reference, share_threshold=1.5, sample_rows=100)


def test_sampling_is_repeatable_and_capped(reference: pd.DataFrame) -> None:
    first, again = sample(reference, 500), sample(reference, 500)
    pd.testing.assert_frame_equal(first, again)
    assert len(first) == 500
    assert sample(reference, len(reference) + 1) is reference


def test_evidentlys_page_is_one_whole_html_document(reference: pd.DataFrame) -> None:
    _, snapshot = compare(reference, listings(1_000, seed=7), share_threshold=0.3,
                          sample_rows=2_000)  # fmt: skip
    page = evidently_page(snapshot)
    assert "<body" in page
    assert "zip_code" in page
    assert len(page) > 10_000
