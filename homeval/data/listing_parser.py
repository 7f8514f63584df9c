"""Listing tables and feed rows into typed, validated columns: CSV files (either Kaggle
version) in feed order, feed rows into a frame, and one parse per column that keeps
every row it can and rejects the rest with its reasons."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from homeval.data.schema import (
    ID_FIELDS,
    LISTING_FIELDS,
    MAX_DATE,
    MAX_PRICE,
    MIN_DATE,
    NUMERIC_FIELDS,
    OLD_FIELDS,
    STATE_BY_KEY,
    STATE_CODES,
    STATUS_BY_KEY,
    STATUSES,
    ParsedBatch,
    Rejection,
    SchemaError,
    normalise_zip,
    value_kind,
)

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
            rejected.append(
                Rejection(i, (f"expected a list of {width} values, got {value_kind(row)}",))
            )
        elif len(row) != width:
            rejected.append(Rejection(i, (f"expected {width} values, got {len(row)}",)))
        else:
            good.append(row)
            index.append(i)
    frame = pd.DataFrame(good, columns=list(LISTING_FIELDS), index=index, dtype=object)
    return frame, rejected


# --- parsing ----------------------------------------------------------------------------
# One tight loop per column over plain Python values: feed rows arrive as JSON scalars and
# CSV rows as strings, and a loop that dispatches on the value's type is several times
# faster than pandas' string methods on such mixed object columns.

_BAD: Final = object()
"""Marks a value that cannot be what its field is (the row is rejected)."""
_BLANK_WORDS: Final = frozenset({"", "nan", "none", "null"})


def _text_or_none(value: Any) -> Any:
    """Stripped text, None when blank, or the value itself when it is not text."""
    if isinstance(value, str):
        text = value.strip()
        return None if text.lower() in _BLANK_WORDS else text
    if value is None or (isinstance(value, float) and value != value):  # NaN
        return None
    return value


def _number(value: Any) -> Any:
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else (None if value != value else _BAD)
    if kind is int:
        return float(value)
    value = _text_or_none(value)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return _BAD
        return number if math.isfinite(number) else _BAD
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return _BAD
    number = float(value)
    return number if math.isfinite(number) else None if number != number else _BAD


def _id_code(value: Any) -> Any:
    """Anonymised integer codes ('103378.0' → '103378'); other text is kept as given."""
    if type(value) is float and value.is_integer():
        return str(int(value))
    if type(value) is int:
        return str(value)
    value = _text_or_none(value)
    if value is None or isinstance(value, bool):
        return None
    text = str(value)
    if text.endswith(".0") and text[:-2].isdigit():
        return text[:-2]
    return text


def _zip(value: Any) -> Any:
    if type(value) is str and len(value) == 5 and value.isdigit():
        return value
    if _text_or_none(value) is None:
        return None
    found = normalise_zip(value)
    return _BAD if found is None else found


def _key_lookup(table: Mapping[str, str]) -> Any:
    def lookup(value: Any) -> Any:
        if type(value) is str and value in table:  # canonical spelling: no work
            return table[value]
        value = _text_or_none(value)
        if value is None:
            return None
        return table.get(str(value).lower(), _BAD)

    return lookup


def _date(value: Any) -> Any:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value if MIN_DATE <= value < MAX_DATE else _BAD
    value = _text_or_none(value)
    if value is None:
        return None
    if not isinstance(value, str):
        return _BAD
    try:
        parsed = date.fromisoformat(value[:10])
    except ValueError:
        try:  # the old Kaggle file also writes 2/28/2020
            parsed = datetime.strptime(value, "%m/%d/%Y").date()
        except ValueError:
            return _BAD
    return parsed if MIN_DATE <= parsed < MAX_DATE else _BAD


_STATUS_LOOKUP: Final = _key_lookup({**STATUS_BY_KEY, **{s: s for s in STATUSES}})
_STATE_LOOKUP: Final = _key_lookup({**STATE_BY_KEY, **{s: s for s in STATE_CODES}})
_PARSERS: Final[dict[str, Any]] = {
    "brokered_by": _id_code,
    "status": _STATUS_LOOKUP,
    "price": _number,
    "bed": _number,
    "bath": _number,
    "acre_lot": _number,
    "street": _id_code,
    "city": lambda v: _text_or_none(v) if not isinstance(v, bool) else _BAD,
    "state": _STATE_LOOKUP,
    "zip_code": _zip,
    "house_size": _number,
    "prev_sold_date": _date,
}
_BAD_REASONS: Final = {
    "status": f"status: not one of {', '.join(STATUSES)}",
    "state": "state: unknown state",
    "zip_code": "zip_code: not a 5-digit ZIP",
    "prev_sold_date": "prev_sold_date: not a date (YYYY-MM-DD or M/D/YYYY)",
    "city": "city: not text",
    **{name: f"{name}: not a number" for name in NUMERIC_FIELDS},
}
REQUIRED_FIELDS: Final = ("status", "state")
"""A row without these is rejected: status tells what the price means, state where it is."""


def parse_frame(frame: pd.DataFrame) -> ParsedBatch:
    """Normalise a listing table (feed order, any value types) and reject unusable rows.

    A row is rejected when a value cannot be what its field is (text in a number, a
    negative size, an unknown status or state, an impossible date, a malformed ZIP) or
    when the status or state is missing.  Missing values are otherwise kept: they are
    how the real data looks (land listings have no bed/bath/size) and cleaning decides
    what to do.
    """
    if list(frame.columns) != list(LISTING_FIELDS):
        frame = to_feed_order(frame)
    n = len(frame)
    reasons: list[list[str] | None] = [None] * n

    def reject(i: int, reason: str) -> None:
        found = reasons[i]
        if found is None:
            reasons[i] = [reason]
        else:
            found.append(reason)

    columns: dict[str, list[Any]] = {}
    for name in LISTING_FIELDS:
        parse = _PARSERS[name]
        values = [parse(v) for v in frame[name].to_numpy(dtype=object)]
        for i, value in enumerate(values):
            if value is _BAD:
                reject(i, _BAD_REASONS[name])
                values[i] = None
            elif value is None and name in REQUIRED_FIELDS:
                reject(i, f"{name}: missing")
        if name in NUMERIC_FIELDS:
            for i, value in enumerate(values):
                if value is not None and (value < 0 or value > MAX_PRICE):
                    reject(i, f"{name}: {'negative' if value < 0 else 'too large'}")
        columns[name] = values

    keep = [i for i in range(n) if reasons[i] is None]
    index = frame.index.to_numpy()
    rows = pd.DataFrame(
        {
            name: np.array([values[i] for i in keep], dtype="float64")
            if name in NUMERIC_FIELDS
            else pd.array([values[i] for i in keep], dtype=object)
            for name, values in columns.items()
        },
        index=index[keep],
    )
    rejected = [Rejection(int(index[i]), tuple(r)) for i, r in enumerate(reasons) if r]
    return ParsedBatch(rows=rows, rejected=rejected)


def parse_rows(rows: Sequence[Any]) -> ParsedBatch:
    """Parse feed rows (lists in ``LISTING_FIELDS`` order)."""
    frame, wrong_shape = frame_from_rows(rows)
    parsed = parse_frame(frame)
    rejected = sorted([*wrong_shape, *parsed.rejected], key=lambda r: r.row)
    return ParsedBatch(rows=parsed.rows, rejected=rejected)
