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

These modules are plain Python (and numpy) on purpose: they run on the serving hot path, a
column at a time for the usual request (``request_columns.fast_batch``), a listing at a
time otherwise (``parse_listing`` here, with the field rules of ``request_fields``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from homeval.data.listing_batch import Listings
from homeval.data.request_columns import (
    COLUMNS_FROM,
    fast_batch,
)
from homeval.data.request_fields import (
    FAST_LIMITS,
    FAST_TEXT,
    PARSERS,
    REQUIRED_FIELDS,
    RequestError,
    describe,
    is_missing,
    kind_of,
)
from homeval.data.schema import INPUT_FIELDS, LISTING_FIELDS


@dataclass(frozen=True)
class Options:
    """What a request may ask besides prices (``"parameters"`` of the v1/v2 body)."""

    interval: bool = False


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
            f"a listing is an object of fields or a list of values, got {kind_of(raw)}"
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
            limit = FAST_LIMITS.get(key)
            if limit is not None and 0.0 <= value <= limit:
                out[key] = float(value)
                continue
        elif kind is str:
            known = FAST_TEXT.get(key)
            if known is not None:
                found = known.get(value)
                if found is not None:
                    out[key] = found
                    continue
            elif key == "zip_code" and len(value) == 5 and value.isascii() and value.isdigit():
                out[key] = value
                continue
        parser = PARSERS.get(key) if isinstance(key, str) else None
        if parser is None:
            raise RequestError(
                f"unknown field {describe(key)}; fields are {', '.join(LISTING_FIELDS)}"
            )
        if is_missing(value):
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
        raise RequestError(f'"instances" must be a list of listings, got {kind_of(instances)}')
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


def parse_options(parameters: Any) -> Options:
    """``"parameters": {"interval": true}`` → Options; unknown parameters are refused."""
    if parameters is None:
        return Options()
    if not isinstance(parameters, Mapping):
        raise RequestError(f'"parameters" must be an object, got {kind_of(parameters)}')
    unknown = [k for k in parameters if k != "interval"]
    if unknown:
        raise RequestError(
            f'unknown parameter {describe(unknown[0])}; the one parameter is "interval"'
        )
    interval = parameters.get("interval", False)
    if not isinstance(interval, bool):
        raise RequestError(f'"parameters.interval" must be true or false, got {kind_of(interval)}')
    return Options(interval=interval)


def parse_v1_body(body: Any, *, max_instances: int) -> tuple[Listings, Options]:
    """A whole v1 body: ``{"instances": [...], "parameters": {...}}``."""
    if not isinstance(body, Mapping):
        raise RequestError(
            f'the body must be a JSON object {{"instances": [...]}}, got {kind_of(body)}'
        )
    unknown = [k for k in body if k not in ("instances", "parameters")]
    if unknown:
        raise RequestError(
            f'unknown key {describe(unknown[0])} in the body; expected "instances" '
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
