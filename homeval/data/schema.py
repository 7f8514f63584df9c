"""The Realtor.com listing: its fields, how files spell them, and which rows are usable.

Two Kaggle versions exist: the current ``realtor-data.zip.csv`` (12 columns, anonymised
``brokered_by``/``street`` codes written as floats) and the older ``realtor-data.csv``
(10 columns, other order).  Everything that enters homeval is normalised here, once, so
the store, the pipeline and the predictor agree on what a listing is.

Validation never fails a batch: ``parse_frame`` returns the usable rows and, for every
rejected row, the reasons, so one bad row costs one row.  This module holds the fields,
the batch types and one listing's normalisation; reading files and parsing batches is
``homeval.data.listing_parser``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

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
INPUT_FIELDS: Final = tuple(f for f in LISTING_FIELDS if f != "price")
"""What a caller gives to price a listing: every listing field but the price."""

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
STATE_BY_KEY: Final = {
    **{name.lower(): name for name in STATE_CODES},
    **{code.lower(): name for name, code in STATE_CODES.items()},
}
STATUS_BY_KEY: Final = {
    "for_sale": "for_sale",
    "for sale": "for_sale",
    "forsale": "for_sale",
    "sold": "sold",
    "ready_to_build": "ready_to_build",
    "ready to build": "ready_to_build",
}
ZIP_RE: Final = re.compile(r"^\d{1,5}$")

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


def value_kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


# --- one listing at a time (predictor, UI) -------------------------------------------------


def is_missing(value: Any) -> bool:
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
    raise SchemaError(
        f"a listing is an object of fields or a list of values, got {value_kind(record)}"
    )


def normalise_status(value: Any) -> str | None:
    """'for sale' / 'FOR_SALE' → 'for_sale'; None when unknown."""
    return STATUS_BY_KEY.get(str(value).strip().lower()) if not is_missing(value) else None


def normalise_state(value: Any) -> str | None:
    """'ct' / 'Connecticut' → 'Connecticut'; None when unknown."""
    return STATE_BY_KEY.get(str(value).strip().lower()) if not is_missing(value) else None


def normalise_zip(value: Any) -> str | None:
    """601 / '00601' / 601.0 → '00601'; None when not a ZIP."""
    if is_missing(value) or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    return text.zfill(5) if ZIP_RE.match(text) else None


def known_values(field: str) -> Iterable[str]:
    """Allowed values of a categorical field, for forms and error messages."""
    return {"status": STATUSES, "state": STATES}.get(field, ())
