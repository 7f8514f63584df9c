"""A listing typed by a person: readable field names, and per-field errors before any call.

A form should say "must not be negative" next to the bedrooms box, not "HTTP 400" at the
bottom of the page.  Each field is checked with the predictor's own rules
(``validation.parse_listing``, one field at a time so every wrong box is named at once,
with the predictor's words), then the whole row with the store's (``listing_parser.parse_rows``:
the row is stored as a user row, and the store also wants a status).  So the page refuses
exactly what the predictor or the store would refuse, before calling either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from homeval.data.listing_parser import parse_rows
from homeval.data.request_fields import RequestError
from homeval.data.schema import INPUT_FIELDS, LISTING_FIELDS
from homeval.data.tables import raw_houses
from homeval.data.validation import parse_listing

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
"""Fields without which a listing is refused: the predictor needs the state, the store
also the status."""
_PLACEHOLDER_STATE: Final = "Texas"
"""Lets one field be checked alone (the predictor's parser requires a state)."""

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


_STORE_LENGTHS: Final[dict[str, int]] = {
    name: int(raw_houses.c[name].type.length)  # type: ignore[attr-defined]
    for name in ("brokered_by", "street", "city")
}
"""Text the store keeps (longer text would fail the user row's insert on PostgreSQL)."""


def predictor_error(name: str, value: Any) -> str | None:
    """What the predictor would say about this one field's value (None when fine)."""
    probe = {name: value} if name == "state" else {"state": _PLACEHOLDER_STATE, name: value}
    try:
        parse_listing(probe)
    except RequestError as exc:
        return str(exc).removeprefix(f"{name}: ")
    return None


def check_field(name: str, value: Any) -> str | None:
    """One field alone, as a form checks a box when the cursor leaves it."""
    problem = predictor_error(name, value)
    if problem is not None:
        return problem
    limit = _STORE_LENGTHS.get(name)
    if limit is not None and isinstance(value, str) and len(value.strip()) > limit:
        return f"longer than {limit} characters"
    if name in REQUIRED_FIELDS and (value is None or str(value).strip() == ""):
        return "missing"
    return None


def check_listing(values: Mapping[str, Any]) -> ListingCheck:
    """Validate and normalise a listing given by field name (missing fields are empty).

    Returns every error at once, keyed by field, so a form can mark all wrong boxes in
    one round trip; the predictor's words come first, the store's fill the rest.
    """
    unknown = sorted(set(values) - set(LISTING_FIELDS))
    errors: dict[str, str] = dict.fromkeys(unknown, "not a listing field")
    for name in INPUT_FIELDS:
        problem = check_field(name, values.get(name))
        if problem is not None:
            errors[name] = problem
    row = [None if name == "price" else values.get(name) for name in LISTING_FIELDS]
    parsed = parse_rows([row])
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
