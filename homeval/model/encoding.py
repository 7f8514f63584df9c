"""What ``features.ListingEncoder`` is made of: the layout of ``FEATURES``, a frame's places
as the knowledge tables read them, places encoded once per distinct place (and cached),
the derived features, the folds of out-of-fold encoding, and the frames and records it
reads."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from homeval.data.schema import INPUT_FIELDS
from homeval.model.feature_names import FEATURES, LAND_FIELDS, NUMERIC_FEATURES
from homeval.model.geography import ZipTable, zip_table
from homeval.model.places import PLACE_COLUMNS, Place, PlaceKnowledge

_NAN = float("nan")


def city_key(state: Any, city: Any) -> str | None:
    """Cities are only unique within a state ('Springfield')."""
    if not isinstance(state, str) or not isinstance(city, str) or not city.strip():
        return None
    return f"{state}|{city.strip().lower()}"


COL: Final = {name: i for i, name in enumerate(FEATURES)}
NUMERIC_SLICE: Final = slice(COL[NUMERIC_FEATURES[0]], COL[NUMERIC_FEATURES[-1]] + 1)
LAND_NUMERIC: Final = [NUMERIC_FEATURES.index(name) for name in LAND_FIELDS]
ZIP_PPSF: Final = PLACE_COLUMNS.index("zip_ppsf")
ZIP_PPA: Final = PLACE_COLUMNS.index("zip_ppa")
LOCAL_PPSF: Final = PLACE_COLUMNS.index("local_ppsf")
LOCAL_PPA: Final = PLACE_COLUMNS.index("local_ppa")
CACHES: Final = ("_place_cache", "_record_place_cache")
if list(FEATURES[NUMERIC_SLICE]) != list(NUMERIC_FEATURES) or len(set(FEATURES)) != len(FEATURES):
    raise AssertionError("feature layout broken")


def place_key(state: Any, city: Any, zip_code: Any) -> Place:
    """A place key as the knowledge tables spell it."""
    return (state if isinstance(state, str) else None, city_key(state, city), zip_code)


def encode_places(knowledge: PlaceKnowledge, places: Sequence[Place] | np.ndarray) -> np.ndarray:
    """Place columns per row, each distinct place encoded once."""
    keys = [tuple(p) for p in places]
    distinct = list(dict.fromkeys(keys))
    table = knowledge.encode(distinct)
    where = {key: i for i, key in enumerate(distinct)}
    return table[[where[k] for k in keys]] if keys else table


def derive(out: np.ndarray, size: np.ndarray, acre: np.ndarray) -> None:
    """Fill the derived features (``feature_names.DERIVED_FEATURES``) from the place columns
    and the listing's size and lot."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_size = np.where(size > 0, np.log(size), _NAN)
        log_acre = np.where(acre > 0, np.log(acre), _NAN)
    out[:, COL["size_price"]] = out[:, COL["zip_ppsf"]] + log_size
    out[:, COL["lot_price"]] = out[:, COL["zip_ppa"]] + log_acre
    out[:, COL["local_size_price"]] = out[:, COL["local_ppsf"]] + log_size
    out[:, COL["local_lot_price"]] = out[:, COL["local_ppa"]] + log_acre


class FrameRows:
    """A frame's listings as the knowledge tables read them, computed once per frame."""

    def __init__(
        self, frame: pd.DataFrame, log_price: np.ndarray | None, table: ZipTable | None = None
    ) -> None:
        def present(column: str) -> np.ndarray:
            values = frame[column].astype(object)
            return values.where(values.notna(), None).to_numpy(dtype=object)

        state = present("state")
        pairs: dict[tuple[Any, Any], str | None] = {}  # few distinct (state, city)
        city = [
            pairs[pair] if pair in pairs else pairs.setdefault(pair, city_key(*pair))
            for pair in zip(state, frame["city"], strict=True)
        ]
        zip_code = present("zip_code")
        self.table = table = table or zip_table()
        self.zip_rows = table.rows(list(zip_code))
        county = np.array(
            [table.county[r] if r >= 0 else None for r in self.zip_rows.tolist()], dtype=object
        )
        self.keys = {
            "state": state,
            "county": county,
            "city": np.array(city, dtype=object),
            "zip": zip_code,
        }
        self.places = np.empty(len(frame), dtype=object)
        self.places[:] = list(zip(state, city, zip_code, strict=True))
        self.targets: dict[str, np.ndarray] = {}
        if log_price is not None:
            self.targets = {
                "price": np.where(np.isfinite(log_price), log_price, np.nan),
                "ppsf": log_per(frame, "house_size", log_price),
                "ppa": log_per(frame, "acre_lot", log_price),
            }

    def knowledge(self, rows: Any, smoothing: float) -> PlaceKnowledge:
        return PlaceKnowledge.fit(
            {level: key[rows] for level, key in self.keys.items()},
            {name: values[rows] for name, values in self.targets.items()},
            self.zip_rows[rows],
            smoothing,
            self.table,
        )


class PlaceCache:
    """Place columns by (state, city, zip) as given, as rows of one matrix (so a request's
    places are one fancy-index); emptied rather than grown past ``_PLACE_CACHE_SIZE``."""

    def __init__(self, width: int) -> None:
        self.lock = threading.Lock()
        self.width = width
        self.reset()

    def reset(self) -> None:
        self.index: dict[tuple[Any, Any, Any], int] = {}
        self.table = np.empty((64, self.width), dtype="float64")
        self.used = 0

    def add(self, key: tuple[Any, Any, Any], row: np.ndarray) -> int:
        """Store a place (the caller holds ``lock``); its row number."""
        at = self.used
        self.used += 1
        if at == len(self.table):
            self.table = np.concatenate([self.table, np.empty_like(self.table)])
        self.table[at] = row
        self.index[key] = at
        return at


def listing_frame(listings: Any) -> pd.DataFrame:
    """A DataFrame of listings (made from records if need be) with every ``INPUT_FIELDS`` column."""
    if not isinstance(listings, pd.DataFrame):
        listings = pd.DataFrame(list(listings), columns=list(INPUT_FIELDS))
    missing = [f for f in INPUT_FIELDS if f not in listings.columns]
    if missing:
        raise ValueError(f"listing frame lacks column(s): {', '.join(missing)}")
    return listings


def log_per(frame: pd.DataFrame, column: str, log_price: np.ndarray) -> np.ndarray:
    """log(price / frame[column]); NaN where the divisor is missing or not positive."""
    divisor = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = log_price - np.log(divisor)
    out[~np.isfinite(out)] = np.nan
    return out


def folds_of(frame: pd.DataFrame, by: str, n_folds: int, seed: int) -> np.ndarray:
    """Fold of each row: the same for every listing of one property (``by="property"``)
    or of one state (``by="state"``)."""
    if by == "property":
        from homeval.data.properties import property_ids_of

        keys = property_ids_of(frame)
    else:
        keys = frame[by].astype(str)
    hashed = pd.util.hash_pandas_object(
        pd.Series(keys).reset_index(drop=True), index=False, hash_key=f"{seed:016d}"
    )
    return (hashed.to_numpy() % np.uint64(n_folds)).astype(int)


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows → listing dicts with None for missing values (as JSON would bring)."""
    cleaned = frame.astype(object).where(frame.notna(), None)
    return cleaned.to_dict(orient="records")
