"""Coded columns as the rows a feed sends (text through lookup tables, ISO dates), and the
junk and malformed values a little of the feed carries."""

from __future__ import annotations

from datetime import date
from typing import Final

import numpy as np
import pandas as pd

from homeval.data.generator.parameters import (
    STATUSES,
)
from homeval.data.generator.world import (
    World,
)
from homeval.data.schema import LISTING_FIELDS

_EPOCH: Final = date(1970, 1, 1).toordinal()
_DATE_SPAN: Final = (date(1960, 1, 1).toordinal(), date(2030, 1, 1).toordinal())
"""The usual span of the date lookup table (it widens if a calibration needs more)."""


def _iso_days(first: int, last: int) -> np.ndarray:
    """ISO strings of the days first..last (ordinals), and None after them."""
    days = np.arange(first, last + 1) - _EPOCH
    text = np.datetime_as_string(days.astype("datetime64[D]"), unit="D").astype(object)
    return _with_none(text)


def _with_none(values: np.ndarray) -> np.ndarray:
    """An object array of ``values`` and None after them (what index -1 looks up)."""
    out = np.empty(len(values) + 1, dtype=object)
    out[:-1] = values
    return out


def as_frame(w: World, columns: dict[str, np.ndarray], order: np.ndarray) -> pd.DataFrame:
    """Rows ``order`` of the coded columns, as the feed sends them: codes → text through
    lookup tables (a missing city or ZIP is -1, a missing date 0)."""
    names = np.array(w.states, dtype=object)
    dates = columns["prev_sold_date"][order]
    known = dates > 0
    first, last = (int(dates[known].min()), int(dates[known].max())) if known.any() else (1, 1)
    table = _iso_days(min(first, _DATE_SPAN[0]), max(last, _DATE_SPAN[1]))
    start = min(first, _DATE_SPAN[0])
    text = {
        "status": np.array(STATUSES, dtype=object),
        "city": _with_none(w.zip_city),
        "state": names,
        "zip_code": _with_none(w.zips),
    }
    frame = {}
    for name in LISTING_FIELDS:
        values = columns[name][order]
        if name in text:
            values = text[name][values]
        elif name == "prev_sold_date":
            values = table[np.where(known, values - start, len(table) - 1)]
        frame[name] = values
    return pd.DataFrame(frame, copy=False)  # no block consolidation: 2 s at 2.2M rows


def _pick(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    count = int(rng.binomial(n, share)) if n else 0
    return rng.choice(n, size=count, replace=False) if count else np.empty(0, dtype=np.int64)


def add_junk(rng: np.random.Generator, frame: pd.DataFrame, share: float) -> None:
    """Absurd values that still pass validation: cleaning's job, not the schema's."""
    rows = _pick(rng, len(frame), share)
    if not len(rows):
        return
    kinds = rng.integers(0, 5, len(rows))
    cols = {c: frame.columns.get_loc(c) for c in frame.columns}
    for kind, row in zip(kinds, rows, strict=True):
        if kind == 0:  # a price typed without its zeros
            frame.iat[row, cols["price"]] = float(rng.choice([1, 10, 100, 250, 999]))
        elif kind == 1:  # ... or with three too many
            frame.iat[row, cols["price"]] = min(float(frame.iat[row, cols["price"]]) * 1000, 9e9)
        elif kind == 2:  # a living area in the wrong unit
            frame.iat[row, cols["house_size"]] = float(rng.choice([1, 12, 40, 500_000, 1_450_112]))
        elif kind == 3:  # a lot the size of a county
            frame.iat[row, cols["acre_lot"]] = float(rng.choice([0, 20_000, 100_000]))
        else:  # a bed count from a hotel
            frame.iat[row, cols["bed"]] = float(rng.integers(20, 41))


_MALFORMED: Final = (
    ("price", lambda v: -abs(v) if isinstance(v, float) and v == v else -1.0),
    ("house_size", lambda v: -1500.0),
    ("status", lambda v: "pending"),
    ("state", lambda v: "Atlantis"),
    ("state", lambda v: None),
    ("zip_code", lambda v: "ABCDE"),
    ("prev_sold_date", lambda v: "2021-02-30"),
)


def add_malformed(rng: np.random.Generator, frame: pd.DataFrame, share: float) -> None:
    """Values a validator must reject, one bad field per row."""
    rows = _pick(rng, len(frame), share)
    kinds = rng.integers(0, len(_MALFORMED), len(rows))
    for kind, row in zip(kinds, rows, strict=True):
        column, spoil = _MALFORMED[int(kind)]
        at = frame.columns.get_loc(column)
        frame.iat[row, at] = spoil(frame.iat[row, at])
