"""The Realtor.com listing: its fields, how files spell them, and which rows are usable.

Two Kaggle versions exist: the current ``realtor-data.zip.csv`` (12 columns, anonymised
``brokered_by``/``street`` codes written as floats) and the older ``realtor-data.csv``
(10 columns, other order).  Everything that enters homeval is normalised here, once, so
the store, the pipeline and the predictor agree on what a listing is.

Validation never fails a batch: ``parse_frame`` returns the usable rows and, for every
rejected row, the reasons, so one bad row costs one row.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

LISTING_FIELDS: Final = (
    "brokered_by",
    "status",
    "price",
    "bed",
    "bath",
    "acre_lot",
    "street",
    "city",
    "state",
    "zip_code",
    "house_size",
    "prev_sold_date",
)
"""Column order of the current Kaggle file; also the order of a feed row."""

OLD_FIELDS: Final = (
    "status",
    "bed",
    "bath",
    "acre_lot",
    "city",
    "state",
    "zip_code",
    "house_size",
    "prev_sold_date",
    "price",
)
"""Column order of the old 10-column Kaggle file (no brokered_by, no street)."""

NUMERIC_FIELDS: Final = ("price", "bed", "bath", "acre_lot", "house_size")
ID_FIELDS: Final = ("brokered_by", "street")
TEXT_FIELDS: Final = ("city",)

STATUSES: Final = ("for_sale", "sold", "ready_to_build")

STATE_CODES: Final[dict[str, str]] = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "District of Columbia": "DC",
    "Florida": "FL", "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL",
    "Indiana": "IN", "Iowa": "IA", "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA",
    "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI",
    "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO", "Montana": "MT",
    "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH", "New Jersey": "NJ",
    "New Mexico": "NM", "New York": "NY", "North Carolina": "NC", "North Dakota": "ND",
    "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI",
    "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX",
    "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington": "WA",
    "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY", "Puerto Rico": "PR",
    "Virgin Islands": "VI", "Guam": "GU",
}  # fmt: skip
"""Full state names as the Kaggle file writes them, with their postal codes."""

STATES: Final = tuple(STATE_CODES)
_STATE_BY_KEY: Final = {
    **{name.lower(): name for name in STATE_CODES},
    **{code.lower(): name for name, code in STATE_CODES.items()},
}
_STATUS_BY_KEY: Final = {
    "for_sale": "for_sale",
    "for sale": "for_sale",
    "forsale": "for_sale",
    "sold": "sold",
    "ready_to_build": "ready_to_build",
    "ready to build": "ready_to_build",
}
_ZIP_RE: Final = re.compile(r"^\d{1,5}$")

MAX_PRICE: Final = 1e10
"""Above any real listing; larger values are typos or overflow, not prices."""
MAX_DATE: Final = date(2100, 1, 1)
MIN_DATE: Final = date(1800, 1, 1)


class SchemaError(ValueError):
    """A file or a batch does not have the shape of a Realtor listing table."""


@dataclass(frozen=True)
class Rejection:
    """A row that was not stored, and why (``row`` is its position in the batch)."""

    row: int
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return f"row {self.row}: " + "; ".join(self.reasons)


@dataclass
class ParsedBatch:
    """The usable rows of a batch (normalised, in ``LISTING_FIELDS`` order) and the rest."""

    rows: pd.DataFrame
    rejected: list[Rejection]

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.rejected)


# --- reading files ------------------------------------------------------------------------


def detect_columns(header: Sequence[str]) -> tuple[str, ...]:
    """Check a header names the listing columns (either version) and return it cleaned."""
    cleaned = tuple(h.strip().lstrip("\ufeff").lower() for h in header)
    required = set(OLD_FIELDS)
    missing = sorted(required - set(cleaned))
    if missing:
        raise SchemaError(
            f"not a Realtor listing table: missing column(s) {', '.join(missing)} "
            f"(expected {', '.join(LISTING_FIELDS)})"
        )
    return cleaned


def read_listings_csv(path: str | Path, **read_csv: Any) -> pd.DataFrame:
    """Read a Kaggle-style CSV (12- or 10-column version) as raw strings in feed order.

    Values stay text so that parsing and rejection happen in one place (``parse_frame``).
    Columns the old version lacks come back empty.
    """
    frame = pd.read_csv(
        path, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8-sig", **read_csv
    )
    return to_feed_order(frame)


def to_feed_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename/reorder any listing table to ``LISTING_FIELDS``; absent id columns are empty."""
    frame = frame.rename(
        columns=dict(zip(frame.columns, detect_columns(frame.columns), strict=True))
    )
    for name in ID_FIELDS:
        if name not in frame.columns:
            frame[name] = None
    return frame.loc[:, list(LISTING_FIELDS)]


def frame_from_rows(rows: Sequence[Any]) -> tuple[pd.DataFrame, list[Rejection]]:
    """Turn feed rows (lists of 12 values) into a frame; rows of the wrong shape are rejected."""
    good: list[Sequence[Any]] = []
    rejected: list[Rejection] = []
    index: list[int] = []
    width = len(LISTING_FIELDS)
    for i, row in enumerate(rows):
        if not isinstance(row, list | tuple):
            rejected.append(Rejection(i, (f"expected a list of {width} values, got {_kind(row)}",)))
        elif len(row) != width:
            rejected.append(Rejection(i, (f"expected {width} values, got {len(row)}",)))
        else:
            good.append(row)
            index.append(i)
    frame = pd.DataFrame(good, columns=list(LISTING_FIELDS), index=index, dtype=object)
    return frame, rejected


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


# --- vectorised parsing -------------------------------------------------------------------


def _blank(series: pd.Series) -> pd.Series:
    """True where a value is absent: None, NaN or an empty/whitespace string."""
    text = series.astype("string").str.strip()
    return (
        series.isna() | text.isna() | (text == "") | text.str.lower().isin(["nan", "none", "null"])
    )


def _numbers(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse numbers; returns the values (NaN when absent) and a mask of unparseable ones."""
    blank = _blank(series)
    bools = series.map(lambda v: isinstance(v, bool))
    values = pd.to_numeric(series.where(~blank & ~bools), errors="coerce").astype("float64")
    bad = (~blank & values.isna()) | bools | np.isinf(values)
    return values.where(~bad), bad


def _id_codes(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Anonymised integer codes ('103378.0' → '103378'); other text is kept as given."""
    blank = _blank(series)
    text = series.astype("string").str.strip()
    numbers = pd.to_numeric(text.where(~blank), errors="coerce")
    integral = numbers.notna() & np.isfinite(numbers) & (numbers == np.floor(numbers))
    as_int = numbers.where(integral).astype("Int64").astype("string")
    out = text.where(~integral, as_int).where(~blank)
    bad = pd.Series(False, index=series.index)
    return out.astype(object).where(out.notna(), None), bad


def _zip_codes(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ZIPs as five digits: the old file writes 601 or 601.0 for 00601."""
    blank = _blank(series)
    text = series.astype("string").str.strip().str.replace(r"\.0+$", "", regex=True)
    ok = text.str.fullmatch(r"\d{1,5}").fillna(False).astype(bool)
    out = text.str.zfill(5).where(ok & ~blank)
    return out.astype(object).where(out.notna(), None), ~blank & ~ok


def _lookup(series: pd.Series, table: Mapping[str, str]) -> tuple[pd.Series, pd.Series]:
    blank = _blank(series)
    keys = series.astype("string").str.strip().str.lower()
    out = keys.map(table)
    return out.astype(object).where(out.notna(), None), ~blank & out.isna()


def _dates(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    blank = _blank(series)
    text = series.astype("string").str.strip().where(~blank)
    parsed = pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    us_style = parsed.isna() & text.notna()  # the old Kaggle file also writes 2/28/2020
    if us_style.any():
        parsed = parsed.fillna(
            pd.to_datetime(text.where(us_style), format="%m/%d/%Y", errors="coerce")
        )
    in_range = (parsed >= pd.Timestamp(MIN_DATE)) & (parsed < pd.Timestamp(MAX_DATE))
    bad = ~blank & (parsed.isna() | ~in_range)
    out = parsed.where(~bad).dt.date
    return out.astype(object).where(parsed.notna() & ~bad, None), bad


def _text(series: pd.Series) -> pd.Series:
    blank = _blank(series)
    out = series.astype("string").str.strip().where(~blank)
    return out.astype(object).where(out.notna(), None)


def parse_frame(frame: pd.DataFrame) -> ParsedBatch:
    """Normalise a listing table (feed order, any value types) and reject unusable rows.

    A row is rejected when a value cannot be what its field is (text in a number, a
    negative size, an unknown status or state, an impossible date, a malformed ZIP) or
    when the state is missing.  Missing values are otherwise kept: they are how the real
    data looks (land listings have no bed/bath/size) and cleaning decides what to do.
    """
    if list(frame.columns) != list(LISTING_FIELDS):
        frame = to_feed_order(frame)
    reasons: dict[str, pd.Series] = {}
    out = pd.DataFrame(index=frame.index)

    for name in ID_FIELDS:
        out[name], _ = _id_codes(frame[name])
    out["status"], bad = _lookup(frame["status"], _STATUS_BY_KEY)
    reasons["status"] = bad.map({True: f"status: not one of {', '.join(STATUSES)}"})
    missing_status = _blank(frame["status"])
    reasons["status_missing"] = missing_status.map({True: "status: missing"})

    for name in NUMERIC_FIELDS:
        values, bad = _numbers(frame[name])
        negative = values < 0
        too_big = values > MAX_PRICE
        out[name] = values.where(~negative & ~too_big)
        reasons[name] = pd.Series(
            np.select(
                [bad.to_numpy(bool), negative.to_numpy(bool), too_big.to_numpy(bool)],
                np.array([f"{name}: not a number", f"{name}: negative", f"{name}: too large"]),
                default="",
            ),
            index=frame.index,
        ).replace("", None)
    out["city"] = _text(frame["city"])
    out["state"], bad = _lookup(frame["state"], _STATE_BY_KEY)
    reasons["state"] = bad.map({True: "state: unknown state"})
    reasons["state_missing"] = _blank(frame["state"]).map({True: "state: missing"})
    out["zip_code"], bad = _zip_codes(frame["zip_code"])
    reasons["zip_code"] = bad.map({True: "zip_code: not a 5-digit ZIP"})
    out["prev_sold_date"], bad = _dates(frame["prev_sold_date"])
    reasons["prev_sold_date"] = bad.map(
        {True: "prev_sold_date: not a date (YYYY-MM-DD or M/D/YYYY)"}
    )

    why = pd.DataFrame(reasons)
    rejected_mask = why.notna().any(axis=1)
    rejected = [
        Rejection(int(i), tuple(r for r in row if isinstance(r, str)))
        for i, row in zip(
            why.index[rejected_mask], why[rejected_mask].itertuples(index=False), strict=True
        )
    ]
    rows = out.loc[~rejected_mask, list(LISTING_FIELDS)]
    return ParsedBatch(rows=rows, rejected=rejected)


def parse_rows(rows: Sequence[Any]) -> ParsedBatch:
    """Parse feed rows (lists in ``LISTING_FIELDS`` order)."""
    frame, wrong_shape = frame_from_rows(rows)
    parsed = parse_frame(frame)
    rejected = sorted([*wrong_shape, *parsed.rejected], key=lambda r: r.row)
    return ParsedBatch(rows=parsed.rows, rejected=rejected)


# --- one listing at a time (predictor, UI) -------------------------------------------------


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def listing_to_values(record: Mapping[str, Any] | Sequence[Any]) -> dict[str, Any]:
    """A listing given by field name or as a list in ``LISTING_FIELDS`` order → dict."""
    if isinstance(record, Mapping):
        return dict(record)
    if isinstance(record, list | tuple):
        if len(record) != len(LISTING_FIELDS):
            raise SchemaError(
                f"a listing given as a list needs {len(LISTING_FIELDS)} values in the order "
                f"{', '.join(LISTING_FIELDS)}; got {len(record)}"
            )
        return dict(zip(LISTING_FIELDS, record, strict=True))
    raise SchemaError(f"a listing is an object of fields or a list of values, got {_kind(record)}")


def normalise_status(value: Any) -> str | None:
    """'for sale' / 'FOR_SALE' → 'for_sale'; None when unknown."""
    return _STATUS_BY_KEY.get(str(value).strip().lower()) if not _is_missing(value) else None


def normalise_state(value: Any) -> str | None:
    """'ct' / 'Connecticut' → 'Connecticut'; None when unknown."""
    return _STATE_BY_KEY.get(str(value).strip().lower()) if not _is_missing(value) else None


def normalise_zip(value: Any) -> str | None:
    """601 / '00601' / 601.0 → '00601'; None when not a ZIP."""
    if _is_missing(value) or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    return text.zfill(5) if _ZIP_RE.match(text) else None


def known_values(field: str) -> Iterable[str]:
    """Allowed values of a categorical field, for forms and error messages."""
    return {"status": STATUSES, "state": STATES}.get(field, ())
