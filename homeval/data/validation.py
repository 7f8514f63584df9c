"""What a caller may send to price a listing, and the one clear sentence when it is wrong.

The predictor answers every bad request with HTTP 400 and a message that names the
instance, the field and the problem ("instances[2].bed: must not be negative, got -1"),
never a stack trace.  Rules (the README's "Serving" section repeats them for callers):

- ``state`` is required (a full name or a postal code, any case): location is what
  prices a house, and every listing in the data has one.  Every other field is optional;
  a missing or null value is what the model sees as missing (land has no bedrooms).
- Numbers (``bed``, ``bath``, ``acre_lot``, ``house_size``, and ``price`` if a 12-value
  row carries it) are JSON numbers or numeric strings, finite, not negative and not
  absurd (see ``LIMITS``).
- ``status`` is one of ``schema.STATUSES`` (spaces or case are forgiven); ``zip_code`` is
  up to five digits (text or number); ``prev_sold_date`` is ``YYYY-MM-DD`` (or
  ``M/D/YYYY``) between 1800 and today; ``city``, ``brokered_by`` and ``street`` are
  short text (ids may be numbers).
- An instance is an object of those fields (unknown names are refused, so a typo is not
  silently priced as "missing"), or a list in schema order: 12 values (with ``price``,
  which is ignored) or the 11 ``features.INPUT_FIELDS``.

This module is plain Python (and numpy) on purpose: it runs on the serving hot path, a
column at a time for the usual request (``fast_batch``), a listing at a time otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain, repeat
from typing import Any, Final

import numpy as np

from homeval.data.listing_batch import NUMBER_FIELDS, ListingBatch, Listings
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
from homeval.model.feature_names import INPUT_FIELDS

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


@dataclass(frozen=True)
class Options:
    """What a request may ask besides prices (``"parameters"`` of the v1/v2 body)."""

    interval: bool = False


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind(value: Any) -> str:
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


def _is_missing(value: Any) -> bool:
    """None, blank text, or NaN (a binary v2 tensor's only way to say "missing")."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, float) and math.isnan(value)


def _number(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RequestError(f"{field}: expected a number, got {_kind(value)}")
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise RequestError(f"{field}: not a number: {_describe(value)}") from None
    else:
        try:
            number = float(value)
        except OverflowError:
            raise RequestError(f"{field}: too large") from None
    if not math.isfinite(number):
        raise RequestError(f"{field}: must be a finite number, got {_describe(value)}")
    if number < 0:
        raise RequestError(f"{field}: must not be negative, got {_describe(value)}")
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
        raise RequestError(f"{field}: expected text, got {_kind(value)}")
    text = value.strip()
    if len(text) > MAX_TEXT:
        raise RequestError(f"{field}: longer than {MAX_TEXT} characters")
    return text


def _status(value: Any) -> str:
    if not isinstance(value, str):
        raise RequestError(f"status: expected text, got {_kind(value)}")
    status = normalise_status(value)
    if status is None:
        raise RequestError(
            f"status: unknown status {_describe(value)}; expected one of {', '.join(STATUSES)}"
        )
    return status


def _state(value: Any) -> str:
    if not isinstance(value, str):
        raise RequestError(f"state: expected text (a state name or code), got {_kind(value)}")
    state = normalise_state(value)
    if state is None:
        raise RequestError(
            f"state: unknown state {_describe(value)}; give a US state or territory "
            "name or its two-letter code"
        )
    return state


def _zip(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RequestError(f"zip_code: expected up to 5 digits, got {_kind(value)}")
    zip_code = normalise_zip(value)
    if zip_code is None:
        raise RequestError(f"zip_code: not a ZIP code (up to 5 digits): {_describe(value)}")
    return zip_code


def _date(value: Any) -> str:
    if not isinstance(value, str):
        raise RequestError(f"prev_sold_date: expected a date as text, got {_kind(value)}")
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
                f"prev_sold_date: not a date (YYYY-MM-DD or M/D/YYYY): {_describe(value)}"
            ) from None
    if parsed < MIN_DATE or parsed > date.today():
        raise RequestError(
            f"prev_sold_date: {parsed.isoformat()} is not between {MIN_DATE.isoformat()} and today"
        )
    return parsed.isoformat()


_PARSERS: Final[dict[str, Callable[[Any], Any]]] = {
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
_FAST_LIMITS: Final = {name: LIMITS[name] for name in ("bed", "bath", "acre_lot", "house_size")}
_FAST_TEXT: Final[dict[str, dict[str, str]]] = {
    "status": {status: status for status in STATUSES},
    "state": {
        **{name: name for name in STATE_CODES},
        **{code: name for name, code in STATE_CODES.items()},
    },
}


def parse_listing(raw: Any) -> dict[str, Any]:
    """One instance → normalised fields (every ``INPUT_FIELDS`` key; NaN/None if missing)."""
    items: Iterable[tuple[Any, Any]]
    if isinstance(raw, Mapping):
        items = raw.items()
    elif isinstance(raw, list | tuple):
        if len(raw) == len(LISTING_FIELDS):
            items = zip(LISTING_FIELDS, raw, strict=True)
        elif len(raw) == len(INPUT_FIELDS):
            items = zip(INPUT_FIELDS, raw, strict=True)
        else:
            raise RequestError(
                f"a listing given as a list needs {len(INPUT_FIELDS)} values "
                f"({', '.join(INPUT_FIELDS)}) or {len(LISTING_FIELDS)} with price; "
                f"got {len(raw)}"
            )
    else:
        raise RequestError(
            f"a listing is an object of fields or a list of values, got {_kind(raw)}"
        )
    out: dict[str, Any] = {
        "brokered_by": None,
        "status": None,
        "bed": math.nan,
        "bath": math.nan,
        "acre_lot": math.nan,
        "street": None,
        "city": None,
        "state": None,
        "zip_code": None,
        "house_size": math.nan,
        "prev_sold_date": None,
    }
    for key, value in items:
        # fast paths for the common, valid spellings; anything else takes the full parser
        kind = type(value)
        if kind is float or kind is int:
            limit = _FAST_LIMITS.get(key)
            if limit is not None and 0.0 <= value <= limit:
                out[key] = float(value)
                continue
        elif kind is str:
            known = _FAST_TEXT.get(key)
            if known is not None:
                found = known.get(value)
                if found is not None:
                    out[key] = found
                    continue
            elif key == "zip_code" and len(value) == 5 and value.isascii() and value.isdigit():
                out[key] = value
                continue
        parser = _PARSERS.get(key) if isinstance(key, str) else None
        if parser is None:
            raise RequestError(
                f"unknown field {_describe(key)}; fields are {', '.join(LISTING_FIELDS)}"
            )
        if _is_missing(value):
            continue
        parsed = parser(value)
        if key != "price":
            out[key] = parsed
    for name in REQUIRED_FIELDS:
        if out[name] is None:
            raise RequestError(f"{name}: missing (required)")
    return out


def parse_instances(instances: Any, *, max_instances: int) -> Listings:
    """The ``instances`` of a v1 request → normalised listings (columns from
    ``COLUMNS_FROM`` listings on, else dicts), or a RequestError."""
    if not isinstance(instances, list):
        raise RequestError(f'"instances" must be a list of listings, got {_kind(instances)}')
    if not instances:
        raise RequestError('"instances" is empty: send at least one listing')
    if len(instances) > max_instances:
        raise RequestError(
            f'"instances" has {len(instances)} listings; at most {max_instances} per request'
        )
    batch = fast_batch(instances) if len(instances) >= COLUMNS_FROM else None
    if batch is not None:
        return batch
    out = []
    for i, raw in enumerate(instances):
        try:
            out.append(parse_listing(raw))
        except RequestError as exc:
            raise RequestError(f"instances[{i}]: {exc}") from None
    return out


# --- the usual request, a column at a time --------------------------------------------------

COLUMNS_FROM: Final = 12
"""Listings from which a request is checked a column at a time: the column passes cost
~45 µs at any size against ~5 µs a listing one by one (the two meet near 12)."""
_NONE: Final = type(None)
_NUMBER_KINDS: Final = frozenset((int, float, _NONE))
_TEXT_KINDS: Final = frozenset((str, _NONE))
_STATUS_OK: Final = frozenset((*STATUSES, None))
_MIN_DAY: Final = MIN_DATE.toordinal()


def fast_batch(instances: list[Any]) -> ListingBatch | None:
    """Objects of known fields, checked and normalised a column at a time — the same values
    ``parse_listing`` gives, at a fraction of the cost for a many-listing request.  None
    for anything else (lists, unknown fields, any invalid value): the per-listing parser
    then runs and names the instance, the field and the problem."""
    column = _columns(instances)
    if column is None:
        return None
    try:
        numbers = _numbers(column)
        states = column("state")
        if set(states) <= _FAST_TEXT["state"].keys():
            states = list(map(_FAST_TEXT["state"].__getitem__, states))
        else:
            states = _parsed("state", states)
            if None in states:
                return None
        statuses = column("status")
        return ListingBatch(
            status=statuses if set(statuses) <= _STATUS_OK else _parsed("status", statuses),
            bed=numbers[0],
            bath=numbers[1],
            acre_lot=numbers[2],
            house_size=numbers[3],
            state=states,
            city=_texts("city", column("city")),
            zip_code=_zips(column("zip_code")),
            brokered_by=_texts("brokered_by", column("brokered_by")),
            street=_texts("street", column("street")),
            sold_day=_days(column("prev_sold_date")),
        )
    except (RequestError, OverflowError, TypeError):  # TypeError: an unhashable value
        return None


def _columns(instances: list[Any]) -> Callable[[str], list[Any]] | None:
    """A field's values across the instances (None where absent), if every instance is an
    object of known fields."""
    if set(map(type, instances)) != {dict}:
        return None
    shapes = set(map(tuple, instances))
    if len(shapes) == 1:  # the usual: every listing names the same fields in the same order
        (names,) = shapes
        if not ACCEPTED_FIELDS.issuperset(names):
            return None
        rows = map(dict.values, instances)
        given = dict(zip(names, map(list, zip(*rows, strict=True)), strict=True))
        absent = [None] * len(instances)
        return lambda field: given.get(field, absent)
    if not ACCEPTED_FIELDS.issuperset(set().union(*instances)):
        return None
    return lambda field: list(map(dict.get, instances, repeat(field)))


_CHECKED_NUMBERS: Final = (*NUMBER_FIELDS, "price")
_NUMBER_LIMITS: Final = np.array([[LIMITS[f]] for f in _CHECKED_NUMBERS])


def _numbers(column: Callable[[str], list[Any]]) -> np.ndarray:
    """The number fields (and the price, checked then ignored) as rows of one matrix."""
    values = [column(f) for f in _CHECKED_NUMBERS]
    if not set(map(type, chain.from_iterable(values))) <= _NUMBER_KINDS:
        values = [
            [math.nan if v is None else v for v in _parsed(f, vs)]
            for f, vs in zip(_CHECKED_NUMBERS, values, strict=True)
        ]
    matrix = np.array(values, dtype="float64")  # None → NaN
    if ((matrix < 0) | (matrix > _NUMBER_LIMITS)).any():  # NaN compares False: missing is fine
        raise RequestError("a number out of range")
    return matrix


def _parsed(field: str, values: list[Any]) -> list[Any]:
    """A column the fast checks did not clear: ``parse_listing``'s rules, value by value."""
    parser = _PARSERS[field]
    return [None if _is_missing(v) else parser(v) for v in values]


def _texts(field: str, values: list[Any]) -> list[Any]:
    if set(map(type, values)) <= _TEXT_KINDS:
        given = [v for v in values if v is not None]
        if not given or (
            all(given) and list(map(str.strip, given)) == given and max(map(len, given)) <= MAX_TEXT
        ):
            return values
    return _parsed(field, values)


def _zips(values: list[Any]) -> list[Any]:
    given = [v for v in values if v is not None]
    if (
        set(map(type, given)) <= {str}
        and set(map(len, given)) <= {5}
        and (not given or ("".join(given).isascii() and "".join(given).isdigit()))
    ):
        return values
    return _parsed("zip_code", values)


def _days(values: list[Any]) -> np.ndarray:
    given = [v for v in values if v is not None]
    if set(map(type, given)) <= {str} and set(map(len, given)) <= {10}:
        try:
            days = list(map(date.toordinal, map(date.fromisoformat, given)))
        except ValueError:
            pass  # another spelling, or blank
        else:
            if days and (min(days) < _MIN_DAY or max(days) > date.today().toordinal()):
                raise RequestError("prev_sold_date")
            if len(days) == len(values):
                return np.array(days, dtype="float64")
            found = iter(days)
            return np.array(
                [math.nan if v is None else next(found) for v in values], dtype="float64"
            )
    parsed = _parsed("prev_sold_date", values)  # ISO dates in range, or None
    return np.array(
        [math.nan if v is None else date.fromisoformat(v).toordinal() for v in parsed],
        dtype="float64",
    )


def parse_options(parameters: Any) -> Options:
    """``"parameters": {"interval": true}`` → Options; unknown parameters are refused."""
    if parameters is None:
        return Options()
    if not isinstance(parameters, Mapping):
        raise RequestError(f'"parameters" must be an object, got {_kind(parameters)}')
    unknown = [k for k in parameters if k != "interval"]
    if unknown:
        raise RequestError(
            f'unknown parameter {_describe(unknown[0])}; the one parameter is "interval"'
        )
    interval = parameters.get("interval", False)
    if not isinstance(interval, bool):
        raise RequestError(f'"parameters.interval" must be true or false, got {_kind(interval)}')
    return Options(interval=interval)


def parse_v1_body(body: Any, *, max_instances: int) -> tuple[Listings, Options]:
    """A whole v1 body: ``{"instances": [...], "parameters": {...}}``."""
    if not isinstance(body, Mapping):
        raise RequestError(
            f'the body must be a JSON object {{"instances": [...]}}, got {_kind(body)}'
        )
    unknown = [k for k in body if k not in ("instances", "parameters")]
    if unknown:
        raise RequestError(
            f'unknown key {_describe(unknown[0])} in the body; expected "instances" '
            'and optionally "parameters"'
        )
    if "instances" not in body:
        raise RequestError('the body has no "instances": send {"instances": [listing, ...]}')
    options = parse_options(body.get("parameters"))
    return parse_instances(body["instances"], max_instances=max_instances), options


def columns_to_instances(columns: Mapping[str, list[Any]], *, max_instances: int) -> list[Any]:
    """v2 inputs (one tensor per field, same length) → instance objects for parse_instances."""
    if not columns:
        raise RequestError("no inputs: send one input tensor per listing field")
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) != 1:
        raise RequestError(
            "inputs have different lengths: "
            + ", ".join(f"{name}={n}" for name, n in lengths.items())
        )
    n = next(iter(lengths.values()))
    if n > max_instances:
        raise RequestError(f"inputs hold {n} listings; at most {max_instances} per request")
    names = list(columns)
    return [{name: columns[name][i] for name in names} for i in range(n)]


def field_kind(name: str) -> str:
    """The v2 datatype of a field: FP64 for numbers, BYTES for text."""
    return "FP64" if name in _NUMBERS else "BYTES"
