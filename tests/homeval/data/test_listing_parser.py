"""Parsing listing tables and feed rows: good rows normalised, bad rows rejected with reasons."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from homeval.data.listing_parser import parse_frame, parse_rows, read_listings_csv
from homeval.data.schema import (
    LISTING_FIELDS,
    SchemaError,
)

GOOD = ["103378.0", "for_sale", "105000.0", "3", "2", "0.12", "1962661.0", "Adjuntas",
        "Puerto Rico", "00601", "920.0", ""]  # fmt: skip


def test_good_row_is_normalised() -> None:
    parsed = parse_rows([GOOD])
    assert parsed.rejected == []
    row = parsed.rows.iloc[0]
    assert row["brokered_by"] == "103378"
    assert row["street"] == "1962661"
    assert row["price"] == 105000.0
    assert row["zip_code"] == "00601"
    assert row["prev_sold_date"] is None
    assert list(parsed.rows.columns) == list(LISTING_FIELDS)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("price", "abc", "price: not a number"),
        ("price", "-5", "price: negative"),
        ("house_size", "-1", "house_size: negative"),
        ("bed", True, "bed: not a number"),
        ("status", "rented", "status: not one of"),
        ("status", "", "status: missing"),
        ("state", "Atlantis", "state: unknown state"),
        ("state", None, "state: missing"),
        ("zip_code", "ABCDE", "zip_code: not a 5-digit ZIP"),
        ("prev_sold_date", "yesterday", "prev_sold_date: not a date"),
        ("prev_sold_date", "1492-10-12", "prev_sold_date: not a date"),
        ("acre_lot", "inf", "acre_lot: not a number"),
    ],
)
def test_bad_value_rejects_only_its_row(field: str, value: object, reason: str) -> None:
    bad = list(GOOD)
    bad[LISTING_FIELDS.index(field)] = value
    parsed = parse_rows([GOOD, bad, GOOD])
    assert len(parsed.rows) == 2
    assert [r.row for r in parsed.rejected] == [1]
    assert any(reason in r for r in parsed.rejected[0].reasons), parsed.rejected[0].reasons


def test_wrong_shape_is_rejected_with_reason() -> None:
    parsed = parse_rows([GOOD, GOOD[:5], "not a row", GOOD])
    assert len(parsed.rows) == 2
    assert [(r.row, r.reasons[0]) for r in parsed.rejected] == [
        (1, "expected 12 values, got 5"),
        (2, "expected a list of 12 values, got str"),
    ]


def test_several_reasons_are_all_reported() -> None:
    bad = list(GOOD)
    bad[2], bad[8] = "x", "Narnia"
    (rejection,) = parse_rows([bad]).rejected
    assert set(rejection.reasons) == {"price: not a number", "state: unknown state"}


def test_values_accept_json_types() -> None:
    row = [None, "sold", 250000, 3, 2.0, None, None, "Hartford", "CT", 6103, 1500, "2019-06-28"]
    parsed = parse_rows([row])
    assert parsed.rejected == []
    got = parsed.rows.iloc[0]
    assert got["state"] == "Connecticut"
    assert got["zip_code"] == "06103"
    assert got["prev_sold_date"] == date(2019, 6, 28)


def test_old_and_new_versions_read_the_same(tmp_path: Path) -> None:
    new = tmp_path / "new.csv"
    new.write_text(",".join(LISTING_FIELDS) + "\n" + ",".join(GOOD) + "\n")
    old = tmp_path / "old.csv"
    old.write_text(
        "status,bed,bath,acre_lot,city,state,zip_code,house_size,prev_sold_date,price\r\n"
        "for_sale,3,2,0.12,Adjuntas,Puerto Rico,601,920,,105000\r\n"
    )
    a = parse_frame(read_listings_csv(new)).rows.drop(columns=["brokered_by", "street"])
    b = parse_frame(read_listings_csv(old)).rows.drop(columns=["brokered_by", "street"])
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_a_file_without_listing_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(SchemaError, match="missing column"):
        read_listings_csv(path)


def test_every_real_row_reads(realtor_files: list[Path]) -> None:
    """All rows of the real Kaggle extracts parse; the few rejects name their reason."""
    for path in realtor_files:
        frame = read_listings_csv(path)
        parsed = parse_frame(frame)
        assert parsed.total == len(frame)
        assert len(parsed.rejected) == 0, (path.name, [str(r) for r in parsed.rejected[:5]])
        assert parsed.rows["state"].notna().all()
        assert parsed.rows["zip_code"].dropna().str.len().eq(5).all()
