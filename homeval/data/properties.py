"""Which listings are the same house, and which are the same listing.

About one record in ten belongs to a property listed more than once (for sale, then
sold).  Those records must stay on one side of every train/test split, or the test set
measures memory instead of skill; and exact repeats of one listing (the old Kaggle file
repeats rows many times) must count once.

A property is its anonymised street code with its ZIP when the feed has one (the current
Kaggle version), else its address-free description: state, city, ZIP, beds, baths, size
and lot (the old version has no street).  A listing is its description plus status, price
and previous sale date.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

_DESCRIPTION: Final = ("state", "city", "zip_code", "bed", "bath", "house_size", "acre_lot")
_LISTING: Final = ("status", "price", "prev_sold_date", *_DESCRIPTION)


_NUMERIC: Final = frozenset({"price", "bed", "bath", "house_size", "acre_lot"})


def _hash_columns(frame: pd.DataFrame, columns: list[str], salt: str) -> np.ndarray:
    """A 64-bit hash per row of ``columns``, stable across processes and batches.

    Values are put in one canonical form first (numbers as float64, everything else as
    text or None), so a listing hashes the same whichever batch or dtype it came in.
    """
    canonical = {"salt": np.full(len(frame), salt, dtype=object)}
    for name in columns:
        column = frame[name]
        if name in _NUMERIC:
            canonical[name] = pd.to_numeric(column, errors="coerce").astype("float64").to_numpy()
        else:
            values = column.astype(str).to_numpy(dtype=object)
            values[column.isna().to_numpy()] = None
            canonical[name] = values
    hashed = pd.util.hash_pandas_object(pd.DataFrame(canonical), index=False)
    return hashed.to_numpy()


def property_ids(frame: pd.DataFrame) -> pd.Series:
    """A stable id per property (hex string); equal for repeat listings of one house."""
    street = frame["street"] if "street" in frame.columns else pd.Series(None, index=frame.index)
    has_street = street.notna().to_numpy()
    by_street = _hash_columns(frame.assign(street=street), ["street", "zip_code"], "street:")
    by_description = _hash_columns(frame, list(_DESCRIPTION), "desc:")
    ids = np.where(has_street, by_street, by_description)
    return pd.Series([f"{v:016x}" for v in ids], index=frame.index, dtype=object)


def property_ids_of(frame: pd.DataFrame) -> pd.Series:
    """The frame's ``property_id`` column where it has one (clean listings carry the id
    processing gave them, the one the split is made by), else ``property_ids``: hashing
    a million listings again costs seconds of a training run's budget."""
    if "property_id" in frame.columns and frame["property_id"].notna().all():
        return frame["property_id"].astype(str)
    return property_ids(frame)


def listing_keys(frame: pd.DataFrame) -> pd.Series:
    """A stable id per distinct listing: every field both Kaggle versions carry.

    The anonymised ids are left out on purpose: the old file has none, and one listing
    copied into both versions must count once.
    """
    hashed = _hash_columns(frame, list(_LISTING), "listing:")
    return pd.Series([f"{v:016x}" for v in hashed], index=frame.index, dtype=object)
