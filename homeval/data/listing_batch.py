"""A request's listings as columns: what the predictor validates into and encodes from.

Priced one dict at a time, a 100-listing request spent ~5 µs a listing in Python
(checking each field, then reading it again to encode it) — more than its trees cost.
As columns, most of that becomes a few C-level passes per field (``map``, ``set``,
numpy), and the place and broker lookups are done once per distinct key.  Those passes
cost ~45 µs whatever the size, so a request of a few listings stays a list of dicts
(``Listings`` is either).  The values are the normalised ones of
``validation.parse_listing`` (numbers as floats, NaN when missing; text stripped, None
when missing; the state's full name; canonical status; the previous sale as a proleptic
ordinal day).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import numpy as np
import pandas as pd

NUMBER_FIELDS: Final = ("bed", "bath", "acre_lot", "house_size")
_NAN: Final = float("nan")


@dataclass(frozen=True)
class ListingBatch:
    """Normalised listing fields, one column per field, all of one length."""

    status: list[str | None]
    bed: np.ndarray
    bath: np.ndarray
    acre_lot: np.ndarray
    house_size: np.ndarray
    state: list[Any]
    city: list[Any]
    zip_code: list[Any]
    brokered_by: list[Any]
    street: list[Any]
    sold_day: np.ndarray
    """``date.toordinal()`` of the previous sale, NaN when there was none."""

    def __len__(self) -> int:
        return len(self.status)

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]]) -> ListingBatch:
        """Listing dicts (validated, or read from a frame) → columns; lenient like the
        encoder always was: a value of the wrong kind is missing, not an error."""
        gets = [r.get for r in records]
        numbers = {
            f: np.array([as_float(get(f)) for get in gets], dtype="float64") for f in NUMBER_FIELDS
        }
        return cls(
            status=[_text_or_none(get("status")) for get in gets],
            **numbers,
            state=[_key(get("state")) for get in gets],
            city=[_key(get("city")) for get in gets],
            zip_code=[_key(get("zip_code")) for get in gets],
            brokered_by=[_key(get("brokered_by")) for get in gets],
            street=[_key(get("street")) for get in gets],
            sold_day=np.array([_day(get("prev_sold_date")) for get in gets], dtype="float64"),
        )


Listings = ListingBatch | Sequence[Mapping[str, Any]]
"""Normalised listings: columns (many) or dicts (few, or batch callers and tests)."""


def as_float(value: Any) -> float:
    """A number, or NaN for anything missing, non-numeric or not finite."""
    if type(value) is float:
        return value if math.isfinite(value) else _NAN
    if value is None or isinstance(value, bool):
        return _NAN
    try:
        number = float(value)
    except (TypeError, ValueError):
        return _NAN
    return number if math.isfinite(number) else _NAN


def as_date(value: Any) -> date | None:
    """A day, or None for anything missing or unreadable (datetimes keep their day)."""
    if isinstance(value, datetime):  # pandas Timestamps too, NaT included
        return None if pd.isna(value) else value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _day(value: Any) -> float:
    day = as_date(value)
    return _NAN if day is None else float(day.toordinal())


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _key(value: Any) -> Any:
    """Usable as a lookup key: hashable, else missing."""
    try:
        hash(value)
    except TypeError:
        return None
    return value
