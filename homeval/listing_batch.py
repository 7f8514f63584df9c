"""A request's listings as columns: what the predictor validates into and encodes from.

Priced one dict at a time, a 100-listing request spent ~5 µs a listing in Python
(checking each field, then reading it again to encode it) — more than its trees cost.
As columns, most of that becomes a few C-level passes per field (``map``, ``set``,
numpy), and the place and broker lookups are done once per distinct key.  The values are
the normalised ones of ``validation.parse_listing`` (numbers as floats, NaN when missing;
text stripped, None when missing; the state's full name; canonical status; the previous
sale as a proleptic ordinal day).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import numpy as np
import pandas as pd

from homeval.schema import LISTING_FIELDS

NUMBER_FIELDS: Final = ("bed", "bath", "acre_lot", "house_size")
_TEXT_FIELDS: Final = ("brokered_by", "status", "street", "city", "state", "zip_code")
_FIELDS: Final = tuple(f for f in LISTING_FIELDS if f != "price")
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

    def records(self) -> list[dict[str, Any]]:
        """Back to one dict per listing (what ``parse_listing`` returns)."""
        sold = [None if d != d else date.fromordinal(int(d)).isoformat() for d in self.sold_day]
        columns = {f: getattr(self, f) for f in _TEXT_FIELDS}
        columns |= {f: getattr(self, f).tolist() for f in NUMBER_FIELDS}
        columns["prev_sold_date"] = sold
        rows = zip(*(columns[f] for f in _FIELDS), strict=True)
        return [dict(zip(_FIELDS, row, strict=True)) for row in rows]


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
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    if isinstance(value, pd.Timestamp) and not pd.isna(value):
        return value.date()
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
