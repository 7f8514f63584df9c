"""From a raw listing to the numbers a tree model reads — the same way in training and serving.

One encoder serves both worlds: ``transform`` works on a DataFrame (training, batch
scoring, MLflow's pyfunc), ``encode_batch`` on a request's validated listing columns
(``listing_batch.ListingBatch``) with dictionary lookups and numpy only, and
``encode_records`` plain dicts one at a time with lookups only (the predictor's hot path,
for many and for few listings: no DataFrame and no scikit-learn transformer per request).
Tests hold the three to the same numbers.

Location is what prices a house, and ZIPs, cities and states are high-cardinality, so
they enter as smoothed target encodings (mean log price and mean log price per square
foot), each level shrunk towards its parent (ZIP → city → state → country): an unseen or
rare ZIP falls back to its city, not to noise.  Training rows are encoded out of fold,
grouped by property, so no row ever sees its own price — the leak the seed project had
when it derived price-per-sqft from the very price it predicted.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from datetime import date
from itertools import repeat
from typing import Any, Final, cast

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from homeval.listing_batch import ListingBatch, as_date, as_float
from homeval.schema import LISTING_FIELDS, STATUSES

INPUT_FIELDS: Final = tuple(f for f in LISTING_FIELDS if f != "price")
"""What a caller gives to price a listing: every listing field but the price."""

_STATUS_CODE: Final[dict[str | None, float]] = {s: float(i) for i, s in enumerate(STATUSES)}
_NUMERIC: Final = ("bed", "bath", "acre_lot", "house_size")
_LEVELS: Final = ("state", "city", "zip")
_TARGETS: Final = ("price", "ppsf", "ppa")
"""Encoded per place: log price, log price per sqft, log price per acre of lot."""

FEATURES: Final = (
    "status",
    "bed",
    "bath",
    "acre_lot",
    "house_size",
    "is_land",
    "missing_count",
    "years_since_sale",
    "zip_number",
    "state_price",
    "state_ppsf",
    "state_ppa",
    "city_price",
    "city_ppsf",
    "city_ppa",
    "zip_price",
    "zip_ppsf",
    "zip_ppa",
    "zip_listings",
    "size_price",
    "lot_price",
    "broker_price",
    "broker_listings",
)
"""Feature order of the model's input matrix."""

FEATURE_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "status": ("status",),
    "bed": ("bed",),
    "bath": ("bath",),
    "acre_lot": ("acre_lot",),
    "house_size": ("house_size",),
    "is_land": ("bed", "bath", "house_size"),
    "missing_count": ("bed", "bath", "acre_lot", "house_size"),
    "years_since_sale": ("prev_sold_date",),
    "zip_number": ("zip_code",),
    "state_price": ("state",),
    "state_ppsf": ("state",),
    "city_price": ("city",),
    "city_ppsf": ("city",),
    "city_ppa": ("city",),
    "state_ppa": ("state",),
    "zip_ppa": ("zip_code",),
    "lot_price": ("acre_lot", "zip_code"),
    "zip_price": ("zip_code",),
    "zip_ppsf": ("zip_code",),
    "zip_listings": ("zip_code",),
    "size_price": ("house_size", "zip_code"),
    "broker_price": ("brokered_by",),
    "broker_listings": ("brokered_by",),
}
"""Which original fields each feature comes from; SHAP values are summed back through this
(a feature made of several fields is split equally among them)."""

_NAN = float("nan")
_PLACE_CACHE_SIZE: Final = 50_000


LAND_FIELDS: Final = ("bed", "bath", "house_size")
"""A listing with none of these is land (the model's ``is_land``)."""
LAND_COLUMN: Final = FEATURES.index("is_land")
"""Column of ``is_land`` in the encoded matrix (1.0 for land listings)."""


def land_mask(frame: pd.DataFrame) -> np.ndarray:
    """True for the land listings of a frame of raw listings (``is_land`` per row)."""
    missing = frame[list(LAND_FIELDS)].apply(pd.to_numeric, errors="coerce").isna()
    return missing.all(axis=1).to_numpy()


def city_key(state: Any, city: Any) -> str | None:
    """Cities are only unique within a state ('Springfield')."""
    if not isinstance(state, str) or not isinstance(city, str) or not city.strip():
        return None
    return f"{state}|{city.strip().lower()}"


class ListingEncoder(TransformerMixin, BaseEstimator):
    """Raw listing fields → ``FEATURES``; fitted on log prices (see module docstring).

    ``smoothing`` is the number of pseudo-listings of the parent level each mean is
    shrunk with; ``n_folds`` the out-of-fold splits used when encoding training rows.
    """

    def __init__(self, smoothing: float = 20.0, n_folds: int = 5, random_state: int = 0) -> None:
        self.smoothing = smoothing
        self.n_folds = n_folds
        self.random_state = random_state

    # --- fitting ---------------------------------------------------------------------------

    def fit(self, X: pd.DataFrame, y: Any = None) -> ListingEncoder:
        if y is None:
            raise ValueError("ListingEncoder needs the log prices to fit")
        frame = _frame(X)
        log_price = np.asarray(y, dtype="float64")
        for cache in _CACHES:  # encoded with the old tables
            self.__dict__.pop(cache, None)
        self.tables_ = _fit_tables(frame, log_price, _keys(frame))
        dates = pd.to_datetime(frame["prev_sold_date"], errors="coerce")
        latest = dates.max()
        self.reference_date_ = latest.date() if not pd.isna(latest) else date(2000, 1, 1)
        self.feature_names_in_ = np.asarray(INPUT_FIELDS, dtype=object)
        self.n_features_in_ = len(INPUT_FIELDS)
        return self

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **_: Any) -> pd.DataFrame:
        """Fit on all rows, but encode each training row with tables that never saw it."""
        if y is None:
            raise ValueError("ListingEncoder needs the log prices to fit")
        frame = _frame(X)
        log_price = np.asarray(y, dtype="float64")
        self.fit(frame, log_price)
        out = self.transform(frame)
        keys = _keys(frame)
        folds = _property_folds(frame, self.n_folds, self.random_state)
        for fold in range(self.n_folds):
            held = folds == fold
            if not held.any() or held.all():
                continue
            kept = {level: key[~held] for level, key in keys.items()}
            tables = _fit_tables(frame.loc[~held], log_price[~held], kept)
            out.loc[held, _ENCODED] = _encode_location(
                tables, self.smoothing, {level: key[held] for level, key in keys.items()}
            )
        return _derive(out)

    # --- encoding ------------------------------------------------------------------------

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        frame = _frame(X)
        out = pd.DataFrame(index=frame.index)
        out["status"] = frame["status"].map(_STATUS_CODE).astype("float64")
        numeric = frame[list(_NUMERIC)].apply(pd.to_numeric, errors="coerce").astype("float64")
        for name in _NUMERIC:
            out[name] = numeric[name]
        missing = numeric.isna()
        out["is_land"] = missing[list(LAND_FIELDS)].all(axis=1).astype("float64")
        out["missing_count"] = missing.sum(axis=1).astype("float64")
        sold = pd.to_datetime(frame["prev_sold_date"], errors="coerce")
        out["years_since_sale"] = (pd.Timestamp(self.reference_date_) - sold).dt.days.astype(
            "float64"
        ) / 365.25
        out["zip_number"] = pd.to_numeric(frame["zip_code"], errors="coerce").astype("float64")
        out[_ENCODED] = _encode_location(self.tables_, self.smoothing, _keys(frame))
        return _derive(out)[list(FEATURES)]

    def encode_records(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Listing dicts → feature matrix, one listing at a time (for a request of a few
        listings this beats ``encode_batch``, whose numpy calls cost the same at any size)."""
        if not records:
            return np.empty((0, len(FEATURES)), dtype="float64")
        return np.array([self.encode_record(r) for r in records], dtype="float64")

    def encode_record(self, record: Mapping[str, Any]) -> list[float]:
        get = record.get
        bed, bath = as_float(get("bed")), as_float(get("bath"))
        acre, size = as_float(get("acre_lot")), as_float(get("house_size"))
        no_bed, no_bath, no_acre, no_size = bed != bed, bath != bath, acre != acre, size != size
        state, city, zip_code = get("state"), get("city"), get("zip_code")
        where = (state, city, zip_code)
        places = self._record_places
        location = places.get(where) if type(state) is str else None
        if location is None:
            location = self._location(state, city_key(state, city), zip_code)
            if len(places) >= _PLACE_CACHE_SIZE:
                places.clear()
            places[where] = location
        status = get("status")
        sold = as_date(get("prev_sold_date"))
        return [
            _STATUS_CODE.get(status, _NAN) if isinstance(status, str) else _NAN,
            bed,
            bath,
            acre,
            size,
            1.0 if no_bed and no_bath and no_size else 0.0,
            float(no_bed + no_bath + no_acre + no_size),
            _NAN if sold is None else (self.reference_date_ - sold).days / 365.25,
            as_float(zip_code),
            *location,
            location[7] + math.log(size) if size > 0 else _NAN,
            location[8] + math.log(acre) if acre > 0 else _NAN,
            *self._broker(get("brokered_by")),
        ]

    def encode_batch(self, batch: ListingBatch) -> np.ndarray:
        """The serving path: listing columns → feature matrix, lookups only.

        Places and brokers are looked up once per distinct key (and cached across
        requests); everything else is a numpy operation per column.
        """
        n = len(batch)
        out = np.empty((n, len(FEATURES)), dtype="float64")
        if n == 0:
            return out
        out[:, _COL["status"]] = np.fromiter(
            map(_STATUS_CODE.get, batch.status, repeat(_NAN)), dtype="float64", count=n
        )
        numbers = np.stack([getattr(batch, name) for name in _NUMERIC], axis=1)
        out[:, _NUMERIC_SLICE] = numbers
        absent = np.isnan(numbers)
        out[:, _COL["is_land"]] = absent[:, _LAND_NUMERIC].all(axis=1)
        out[:, _COL["missing_count"]] = absent.sum(axis=1)
        out[:, _COL["years_since_sale"]] = (
            float(self.reference_date_.toordinal()) - batch.sold_day
        ) / 365.25
        out[:, _PLACE_SLICE] = self._place_rows(batch)
        with np.errstate(divide="ignore", invalid="ignore"):
            size, acre = batch.house_size, batch.acre_lot
            out[:, _COL["size_price"]] = np.where(
                size > 0, out[:, _COL["zip_ppsf"]] + np.log(size), _NAN
            )
            out[:, _COL["lot_price"]] = np.where(
                acre > 0, out[:, _COL["zip_ppa"]] + np.log(acre), _NAN
            )
        index, table = self._brokers
        out[:, _BROKER_SLICE] = table[list(map(index.get, batch.brokered_by, repeat(0)))]
        return out

    def _place_rows(self, batch: ListingBatch) -> np.ndarray:
        """``zip_number`` and the location encodings of each listing's place: rows of a
        table that grows as new places are asked for (most requests repeat places)."""
        places = self._places
        keys = list(zip(batch.state, batch.city, batch.zip_code, strict=True))
        with places.lock:  # a reset or a growth must not meet a reader halfway
            rows = list(map(places.index.get, keys))
            if None in rows:
                if places.used + len(keys) > _PLACE_CACHE_SIZE:
                    places.reset()
                    rows = [None] * len(keys)
                for i, key in enumerate(keys):
                    if rows[i] is None:
                        rows[i] = places.index.get(key)  # asked twice in this request
                    if rows[i] is None:
                        state, city, zip_code = key
                        location = self._location(state, city_key(state, city), zip_code)
                        rows[i] = places.add(key, (as_float(zip_code), *location))
            return places.table[cast(list[int], rows)]  # every place has its row now

    @property
    def _places(self) -> _PlaceCache:
        cache = self.__dict__.get("_place_cache")
        if cache is None:
            cache = self.__dict__["_place_cache"] = _PlaceCache(
                _PLACE_SLICE.stop - _PLACE_SLICE.start
            )
        return cache

    @property
    def _record_places(self) -> dict[tuple[Any, Any, Any], list[float]]:
        """Location features by (state, city, zip) as given, for ``encode_record``."""
        cache = self.__dict__.get("_record_place_cache")
        if cache is None:
            cache = self.__dict__["_record_place_cache"] = {}
        return cache

    @property
    def _brokers(self) -> tuple[dict[str, int], np.ndarray]:
        """Row of each known broker in a table of broker features (row 0: unknown)."""
        cache = self.__dict__.get("_broker_cache")
        if cache is None:
            known = list(self.tables_["broker"])
            rows = [self._broker(None), *(self._broker(b) for b in known)]
            index = {broker: i for i, broker in enumerate(known, start=1)}
            cache = self.__dict__["_broker_cache"] = (index, np.array(rows, dtype="float64"))
        return cache

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        for cache in _CACHES:  # caches, not part of the fitted model
            state.pop(cache, None)
        return state

    def _broker(self, broker: Any) -> list[float]:
        entry = self.tables_["broker"].get(broker) if isinstance(broker, str) else None
        prior = self.tables_["global"][0]
        if entry is None:
            return [prior, 0.0]
        smoothed = (entry[0] + self.smoothing * prior) / (entry[1] + self.smoothing)
        return [smoothed, math.log1p(entry[1])]

    def _location(self, state: Any, city: str | None, zip_code: Any) -> list[float]:
        tables, m = self.tables_, self.smoothing
        priors = list(tables["global"])
        out: list[float] = []
        for level, key in zip(_LEVELS, (state, city, zip_code), strict=True):
            entry = tables[level].get(key) if isinstance(key, str) else None
            if entry is not None:
                priors = [
                    (entry[2 * t] + m * prior) / (entry[2 * t + 1] + m)
                    for t, prior in enumerate(priors)
                ]
            out.extend(priors)
        entry = tables["zip"].get(zip_code) if isinstance(zip_code, str) else None
        out.append(math.log1p(entry[1]) if entry is not None else 0.0)
        return out

    # --- introspection ---------------------------------------------------------------------

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(FEATURES, dtype=object)

    @property
    def categories(self) -> dict[str, list[str]]:
        """Known states, cities and ZIPs (for forms and drift checks)."""
        return {level: sorted(self.tables_[level]) for level in _LEVELS}


_COL: Final = {name: i for i, name in enumerate(FEATURES)}


def _span(*names: str) -> slice:
    """The columns of ``names``, which must be adjacent in FEATURES in this order."""
    first = _COL[names[0]]
    if [_COL[name] for name in names] != list(range(first, first + len(names))):
        raise AssertionError(f"features {names} must stay adjacent in FEATURES")
    return slice(first, first + len(names))


_NUMERIC_SLICE: Final = _span(*_NUMERIC)
_LAND_NUMERIC: Final = [_NUMERIC.index(name) for name in LAND_FIELDS]
_PLACE_SLICE: Final = _span(
    "zip_number", *(f"{level}_{t}" for level in _LEVELS for t in _TARGETS), "zip_listings"
)
_BROKER_SLICE: Final = _span("broker_price", "broker_listings")
_CACHES: Final = ("_place_cache", "_record_place_cache", "_broker_cache")


class _PlaceCache:
    """Place features by (state, city, zip) as given, as rows of one matrix (so a request's
    places are one fancy-index); emptied rather than grown past ``_PLACE_CACHE_SIZE``."""

    def __init__(self, width: int) -> None:
        self.lock = threading.Lock()
        self.width = width
        self.reset()

    def reset(self) -> None:
        self.index: dict[tuple[Any, Any, Any], int] = {}
        self.table = np.empty((64, self.width), dtype="float64")
        self.used = 0

    def add(self, key: tuple[Any, Any, Any], row: tuple[float, ...]) -> int:
        """Store a place (the caller holds ``lock``); its row number."""
        at = self.used
        self.used += 1
        if at == len(self.table):
            self.table = np.concatenate([self.table, np.empty_like(self.table)])
        self.table[at] = row
        self.index[key] = at
        return at


_ENCODED: Final = [
    *(f"{level}_{t}" for level in _LEVELS for t in _TARGETS),
    "zip_listings",
    "broker_price",
    "broker_listings",
]


def _derive(out: pd.DataFrame) -> pd.DataFrame:
    """Features computed from other features: the local price of a house this size."""
    with np.errstate(divide="ignore", invalid="ignore"):
        size = out["house_size"].to_numpy()
        out["size_price"] = np.where(size > 0, out["zip_ppsf"].to_numpy() + np.log(size), np.nan)
        acre = out["acre_lot"].to_numpy()
        out["lot_price"] = np.where(acre > 0, out["zip_ppa"].to_numpy() + np.log(acre), np.nan)
    return out


def _frame(X: Any) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        X = pd.DataFrame(list(X), columns=list(INPUT_FIELDS))
    missing = [f for f in INPUT_FIELDS if f not in X.columns]
    if missing:
        raise ValueError(f"listing frame lacks column(s): {', '.join(missing)}")
    return X


def _keys(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """The lookup key of each row at each level (None where absent), computed once per frame."""

    def present(column: str) -> pd.Series:
        values = frame[column].astype(object)
        return values.where(values.notna(), None)

    state = present("state")
    pairs: dict[tuple[Any, Any], str | None] = {}  # few distinct (state, city): key each once
    city = [
        pairs[pair] if pair in pairs else pairs.setdefault(pair, city_key(*pair))
        for pair in zip(state, frame["city"], strict=True)
    ]
    return {
        "state": state,
        "city": pd.Series(city, index=frame.index, dtype=object),
        "zip": present("zip_code"),
        "broker": present("brokered_by"),
    }


def _log_per(frame: pd.DataFrame, column: str, log_price: np.ndarray) -> np.ndarray:
    """log(price / frame[column]); NaN where the divisor is missing or not positive."""
    divisor = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = log_price - np.log(divisor)
    out[~np.isfinite(out)] = np.nan
    return out


def _fit_tables(
    frame: pd.DataFrame, log_price: np.ndarray, keys: Mapping[str, pd.Series]
) -> dict[str, Any]:
    """Per level and key: (sum, count) of each target in ``_TARGETS`` order."""
    targets = {
        "price": np.where(np.isfinite(log_price), log_price, np.nan),
        "ppsf": _log_per(frame, "house_size", log_price),
        "ppa": _log_per(frame, "acre_lot", log_price),
    }
    columns: dict[str, np.ndarray] = {}
    means = []
    for name in _TARGETS:
        values = targets[name]
        ok = np.isfinite(values)
        means.append(float(values[ok].mean()) if ok.any() else 0.0)
        columns[f"{name}_sum"] = np.where(ok, values, 0.0)
        columns[f"{name}_n"] = ok.astype("float64")
    tables: dict[str, Any] = {"global": tuple(means)}
    sums = pd.DataFrame(columns, index=frame.index)
    for level, key in keys.items():
        grouped = sums[key.notna().to_numpy()].groupby(key.dropna().to_numpy()).sum()
        tables[level] = {
            str(k): tuple(float(v) for v in row)
            for k, row in zip(grouped.index, grouped.to_numpy(), strict=True)
        }
    return tables


def _lookup(table: Mapping[str, tuple[float, ...]], keys: pd.Series) -> np.ndarray:
    """Rows of ``table`` for ``keys`` as a matrix; NaN rows where a key is unknown."""
    width = 2 * len(_TARGETS)
    known = pd.Index(list(table))
    position = known.get_indexer(keys.astype(object).where(keys.notna(), ""))
    values = np.array(list(table.values()), dtype="float64").reshape(len(table), width)
    out = np.full((len(keys), width), np.nan)
    hit = position >= 0
    out[hit] = values[position[hit]]
    return out


def _encode_location(tables: dict[str, Any], m: float, keys: Mapping[str, pd.Series]) -> np.ndarray:
    """Vectorised twin of ``ListingEncoder._location`` and ``_broker``."""
    n = len(keys["state"])
    priors = [np.full(n, prior) for prior in tables["global"]]
    columns: list[np.ndarray] = []
    rows = np.full((n, 2 * len(_TARGETS)), np.nan)
    for level in _LEVELS:
        rows = _lookup(tables[level], keys[level])
        seen = ~np.isnan(rows[:, 1])
        priors = [
            np.where(seen, (rows[:, 2 * t] + m * prior) / (rows[:, 2 * t + 1] + m), prior)
            for t, prior in enumerate(priors)
        ]
        columns += priors
    columns.append(np.where(np.isnan(rows[:, 1]), 0.0, np.log1p(rows[:, 1])))  # zip listings
    broker = _lookup(tables["broker"], keys["broker"])
    prior = tables["global"][0]
    seen = ~np.isnan(broker[:, 1])
    columns.append(np.where(seen, (broker[:, 0] + m * prior) / (broker[:, 1] + m), prior))
    columns.append(np.where(seen, np.log1p(broker[:, 1]), 0.0))
    return np.column_stack(columns)


def _property_folds(frame: pd.DataFrame, n_folds: int, seed: int) -> np.ndarray:
    """Fold of each row, the same for every listing of one property."""
    from homeval.properties import property_ids

    ids = property_ids(frame)
    hashed = pd.util.hash_pandas_object(pd.Series(ids), index=False, hash_key=f"{seed:016d}")
    return (hashed.to_numpy() % np.uint64(n_folds)).astype(int)


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows → listing dicts with None for missing values (as JSON would bring)."""
    cleaned = frame.astype(object).where(frame.notna(), None)
    return cleaned.to_dict(orient="records")
