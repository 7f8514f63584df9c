"""The rules of each field a caller may send to price a listing, one value at a time: the
parsers, their limits and the error that names the field (``validation`` has the rules in
words)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, Final

from homeval.data.schema import (
    LISTING_FIELDS,
    MAX_PRICE,
    MIN_DATE,
    STATE_CODES,
    STATUSES,
    normalise_state,
    normalise_status,
    normalise_zip,
)

REQUIRED_FIELDS: Final = ("state",)

LIMITS: Final[dict[str, float]] = {
    "bed": 1_000,
    "bath": 1_000,
    "acre_lot": 1_000_000,
    "house_size": 10_000_000,
    "price": MAX_PRICE,
}
"""Largest value accepted per number: far above any real listing (the real data's worst
are 40 beds, 100,000 acres, 1.45 million sq ft), so only typos and overflow are refused."""

MAX_TEXT: Final = 200
ACCEPTED_FIELDS: Final = frozenset(LISTING_FIELDS)


class RequestError(ValueError):
    """A request the predictor refuses; the message is what the caller reads."""


def describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def is_missing(value: Any) -> bool:
    """None, blank text, or NaN (a binary v2 tensor's only way to say "missing")."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, float) and math.isnan(value)


def _number(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RequestError(f"{field}: expected a number, got {kind_of(value)}")
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise RequestError(f"{field}: not a number: {describe(value)}") from None
    else:
        try:
            number = float(value)
        except OverflowError:
            raise RequestError(f"{field}: too large") from None
    if not math.isfinite(number):
        raise RequestError(f"{field}: must be a finite number, got {describe(value)}")
    if number < 0:
        raise RequestError(f"{field}: must not be negative, got {describe(value)}")
    if number > LIMITS[field]:
        raise RequestError(f"{field}: {number:g} is not plausible (at most {LIMITS[field]:g})")
    return number


_MAX_ID_BITS: Final = 4 * MAX_TEXT
"""An integer id wider than this has more than MAX_TEXT digits (4 bits > 1 digit)."""


def _text(field: str, value: Any, *, ids: bool = False) -> str:
    if ids and isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float):
            if not math.isfinite(value):
                raise RequestError(f"{field}: must be a finite number or text")
            text = str(int(value)) if value.is_integer() else str(value)
        elif value.bit_length() > _MAX_ID_BITS:  # no float() or str() of a huge integer
            raise RequestError(f"{field}: longer than {MAX_TEXT} characters")
        else:
            text = str(value)
        if len(text) > MAX_TEXT:  # an id given as a number obeys the same limit as text
            raise RequestError(f"{field}: longer than {MAX_TEXT} characters")
        return text
    if not isinstance(value, str):
        raise RequestError(f"{field}: expected text, got {kind_of(value)}")
    text = value.strip()
    if len(text) > MAX_TEXT:
        raise RequestError(f"{field}: longer than {MAX_TEXT} characters")
    return text


def _status(value: Any) -> str:
    if not isinstance(value, str):
        raise RequestError(f"status: expected text, got {kind_of(value)}")
    status = normalise_status(value)
    if status is None:
        raise RequestError(
            f"status: unknown status {describe(value)}; expected one of {', '.join(STATUSES)}"
        )
    return status


def _state(value: Any) -> str:
    if not isinstance(value, str):
        raise RequestError(f"state: expected text (a state name or code), got {kind_of(value)}")
    state = normalise_state(value)
    if state is None:
        raise RequestError(
            f"state: unknown state {describe(value)}; give a US state or territory "
            "name or its two-letter code"
        )
    return state


def _zip(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RequestError(f"zip_code: expected up to 5 digits, got {kind_of(value)}")
    zip_code = normalise_zip(value)
    if zip_code is None:
        raise RequestError(f"zip_code: not a ZIP code (up to 5 digits): {describe(value)}")
    return zip_code


def _date(value: Any) -> str:
    if not isinstance(value, str):
        raise RequestError(f"prev_sold_date: expected a date as text, got {kind_of(value)}")
    text = value.strip()
    parsed: date | None = None
    try:
        parsed = date.fromisoformat(text[:10]) if len(text) >= 10 else None
    except ValueError:
        parsed = None
    if parsed is None:
        try:
            parsed = datetime.strptime(text, "%m/%d/%Y").date()
        except ValueError:
            raise RequestError(
                f"prev_sold_date: not a date (YYYY-MM-DD or M/D/YYYY): {describe(value)}"
            ) from None
    if parsed < MIN_DATE or parsed > date.today():
        raise RequestError(
            f"prev_sold_date: {parsed.isoformat()} is not between {MIN_DATE.isoformat()} and today"
        )
    return parsed.isoformat()


PARSERS: Final[dict[str, Callable[[Any], Any]]] = {
    "brokered_by": lambda v: _text("brokered_by", v, ids=True) or None,
    "status": _status,
    "price": lambda v: _number("price", v),
    "bed": lambda v: _number("bed", v),
    "bath": lambda v: _number("bath", v),
    "acre_lot": lambda v: _number("acre_lot", v),
    "street": lambda v: _text("street", v, ids=True) or None,
    "city": lambda v: _text("city", v) or None,
    "state": _state,
    "zip_code": _zip,
    "house_size": lambda v: _number("house_size", v),
    "prev_sold_date": _date,
}
_NUMBERS: Final = frozenset(("bed", "bath", "acre_lot", "house_size", "price"))
FAST_LIMITS: Final = {name: LIMITS[name] for name in ("bed", "bath", "acre_lot", "house_size")}
FAST_TEXT: Final[dict[str, dict[str, str]]] = {
    "status": {status: status for status in STATUSES},
    "state": {
        **{name: name for name in STATE_CODES},
        **{code: name for name, code in STATE_CODES.items()},
    },
}


def field_kind(name: str) -> str:
    """The v2 datatype of a field: FP64 for numbers, BYTES for text."""
    return "FP64" if name in _NUMBERS else "BYTES"
