"""A listing typed by a person: readable field names, and per-field errors before any call.

A form should say "Bedrooms: negative" next to the bedrooms box, not "HTTP 400" at the
bottom of the page.  The rules are the schema's own (``parse_rows`` on a single row), so
the page refuses exactly what the store and the predictor refuse, with the same words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from homeval.features import INPUT_FIELDS
from homeval.schema import LISTING_FIELDS, parse_rows

FIELD_LABELS: Final[dict[str, str]] = {
    "brokered_by": "Broker",
    "status": "Status",
    "price": "Price",
    "bed": "Bedrooms",
    "bath": "Bathrooms",
    "acre_lot": "Lot size (acres)",
    "street": "Street",
    "city": "City",
    "state": "State",
    "zip_code": "ZIP code",
    "house_size": "Living area (sq ft)",
    "prev_sold_date": "Last sold on",
}
"""What a person calls each listing field (form labels, chart labels, error messages)."""

REQUIRED_FIELDS: Final = ("status", "state")
"""Fields without which the schema rejects a listing (it cannot be placed or typed)."""

STATUS_LABELS: Final[dict[str, str]] = {
    "for_sale": "For sale",
    "sold": "Sold",
    "ready_to_build": "Ready to build",
}


@dataclass(frozen=True)
class ListingCheck:
    """The normalised listing (JSON-ready, every input field present) or what is wrong."""

    listing: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """One line naming every wrong field, for a message at the top of the form."""
        return "; ".join(f"{FIELD_LABELS.get(f, f)}: {msg}" for f, msg in self.errors.items())


def _json_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _json_value(value.item())
    return value


def check_listing(values: Mapping[str, Any]) -> ListingCheck:
    """Validate and normalise a listing given by field name (missing fields are empty).

    Returns every error at once, keyed by field, so a form can mark all wrong boxes in
    one round trip.
    """
    unknown = sorted(set(values) - set(LISTING_FIELDS))
    row = [None if name == "price" else values.get(name) for name in LISTING_FIELDS]
    parsed = parse_rows([row])
    errors: dict[str, str] = dict.fromkeys(unknown, "not a listing field")
    for rejection in parsed.rejected:
        for reason in rejection.reasons:
            name, _, message = reason.partition(": ")
            if name in LISTING_FIELDS and name not in errors:
                errors[name] = message or reason
    if errors or parsed.rows.empty:
        return ListingCheck(listing={}, errors=errors or {"status": "listing was rejected"})
    record = parsed.rows.iloc[0]
    listing = {name: _json_value(record[name]) for name in INPUT_FIELDS}
    return ListingCheck(listing=listing)


def describe_value(field_name: str, value: Any) -> str:
    """A field's value as a person reads it ("3 bedrooms" style is left to the caller)."""
    if value is None or value == "":
        return "not given"
    if field_name == "status":
        return STATUS_LABELS.get(str(value), str(value))
    if field_name in ("bed", "bath") and isinstance(value, float) and value.is_integer():
        return str(int(value))
    if field_name == "house_size" and isinstance(value, int | float):
        return f"{value:,.0f} sq ft"
    if field_name == "acre_lot" and isinstance(value, int | float):
        return f"{value:g} acres"
    return str(value)
