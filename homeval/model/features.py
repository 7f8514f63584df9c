"""From a raw listing to the numbers a tree model reads — the same way in training and serving.

One encoder serves both worlds: ``transform`` works on a DataFrame (training, batch
scoring, MLflow's pyfunc), ``encode_batch`` on a request's validated listing columns
(``listing_batch.ListingBatch``) and ``encode_records`` on plain dicts, one at a time (the
predictor's hot path: no DataFrame and no scikit-learn transformer per request).  All
three read a listing's place through ``places.PlaceKnowledge.encode`` once per distinct
place, so tests hold them to the same numbers.

Location is what prices a house (``homeval.model.places``): coordinates and the price levels
of the nearest known listings, and smoothed target encodings of state → county → city →
ZIP each shrunk towards the wider place, up to the surroundings — so a place never seen
is priced from its neighbours, not from the national mean.  Training rows are encoded
out of fold, grouped by property, so no row ever sees its own price — the leak the seed
project had when it derived price-per-sqft from the very price it predicted.  And
because training rows then always have their state in the tables while a national feed
meets states it never saw, ``training_matrix`` adds copies of part of the training rows
encoded with their whole state held out: the trees learn what a listing of an unknown
state looks like and how far its surroundings can be trusted.

The encoder is here (fitted models pickle it by reference); the pieces it is made of are
in ``homeval.model.encoding``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from itertools import repeat
from typing import Any, Final, cast

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from homeval.data.listing_batch import ListingBatch, as_date, as_float
from homeval.data.schema import INPUT_FIELDS, STATUSES
from homeval.model.encoding import (
    CACHES,
    COL,
    LAND_NUMERIC,
    LOCAL_PPA,
    LOCAL_PPSF,
    NUMERIC_SLICE,
    ZIP_PPA,
    ZIP_PPSF,
    FrameRows,
    PlaceCache,
    derive,
    encode_places,
    folds_of,
    listing_frame,
    place_key,
)
from homeval.model.feature_names import FEATURES, LAND_FIELDS, LISTING_FEATURES, NUMERIC_FEATURES
from homeval.model.places import PLACE_COLUMNS, novelty_codes

_STATUS_CODE: Final[dict[str | None, float]] = {s: float(i) for i, s in enumerate(STATUSES)}

_NAN = float("nan")
_PLACE_CACHE_SIZE: Final = 50_000
STATE_HELD_OUT_SHARE: Final = 0.5
"""Share of the training rows copied, encoded with their whole state held out."""
STATE_HELD_OUT_MAX_ROWS: Final = 200_000
"""At most this many such copies (on millions of rows a sample teaches the same)."""

_PLACE_SLICE: Final = slice(len(LISTING_FEATURES), len(LISTING_FEATURES) + len(PLACE_COLUMNS))


def land_mask(frame: pd.DataFrame) -> np.ndarray:
    """True for the land listings of a frame of raw listings (``is_land`` per row)."""
    missing = frame[list(LAND_FIELDS)].apply(pd.to_numeric, errors="coerce").isna()
    return missing.all(axis=1).to_numpy()


def novelty(features: np.ndarray) -> np.ndarray:
    """Index into ``places.NOVELTY`` per row of an encoded matrix (``FEATURES`` order)."""
    return novelty_codes(np.asarray(features)[:, _PLACE_SLICE])


class ListingEncoder(TransformerMixin, BaseEstimator):
    """Raw listing fields → ``FEATURES``; fitted on log prices (see module docstring).

    ``smoothing`` is the number of pseudo-listings of the wider place each mean is shrunk
    with; ``n_folds`` the out-of-fold splits used when encoding training rows;
    ``state_held_out_share`` the share of training rows ``training_matrix`` adds again
    with their state held out (0: none).
    """

    def __init__(
        self,
        smoothing: float = 20.0,
        n_folds: int = 5,
        random_state: int = 0,
        state_held_out_share: float = STATE_HELD_OUT_SHARE,
    ) -> None:
        self.smoothing = smoothing
        self.n_folds = n_folds
        self.random_state = random_state
        self.state_held_out_share = state_held_out_share

    # --- fitting ---------------------------------------------------------------------------

    def fit(self, X: pd.DataFrame, y: Any = None) -> ListingEncoder:
        if y is None:
            raise ValueError("ListingEncoder needs the log prices to fit")
        frame = listing_frame(X)
        log_price = np.asarray(y, dtype="float64")
        for cache in CACHES:  # encoded with the old tables
            self.__dict__.pop(cache, None)
        rows = FrameRows(frame, log_price)
        self.places_ = rows.knowledge(slice(None), self.smoothing)
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
        frame = listing_frame(X)
        log_price = np.asarray(y, dtype="float64")
        self.fit(frame, log_price)
        folds = folds_of(frame, "property", self.n_folds, self.random_state)
        return self._out_of_fold(frame, FrameRows(frame, log_price), folds, slice(None))

    def training_matrix(self, X: pd.DataFrame, y: Any) -> tuple[pd.DataFrame, np.ndarray]:
        """The rows the trees learn from: every training row out of fold, plus copies of a
        share of them encoded with their whole state held out (a national feed meets
        states it never saw; without such rows the trees never learn how to price one)."""
        frame = listing_frame(X)
        log_price = np.asarray(y, dtype="float64")
        encoded = self.fit_transform(frame, log_price)
        share = self.state_held_out_share
        if share <= 0 or frame["state"].nunique(dropna=True) < 2:
            return encoded, log_price
        rng = np.random.default_rng(self.random_state)
        take = min(round(share * len(frame)), STATE_HELD_OUT_MAX_ROWS)
        picked = np.sort(rng.choice(len(frame), size=take, replace=False))
        folds = folds_of(frame, "state", self.n_folds, self.random_state)
        copies = self._out_of_fold(frame, FrameRows(frame, log_price), folds, picked)
        matrix = pd.concat([encoded, copies], ignore_index=True)
        return matrix, np.concatenate([log_price, log_price[picked]])

    def _out_of_fold(
        self, frame: pd.DataFrame, rows: FrameRows, folds: np.ndarray, picked: Any
    ) -> pd.DataFrame:
        """Rows ``picked`` encoded by knowledge fitted on the other folds only."""
        subset = frame.iloc[picked] if not isinstance(picked, slice) else frame
        out = self._numeric(subset)
        chosen = np.zeros(len(frame), dtype=bool)
        chosen[picked] = True
        position = np.cumsum(chosen) - 1  # row of frame → row of out
        for fold in range(self.n_folds):
            held = folds == fold
            encode = held & chosen
            if not encode.any():
                continue
            # nothing left to learn from: the tables of everything
            knowledge = self.places_ if held.all() else rows.knowledge(~held, self.smoothing)
            out[position[encode], _PLACE_SLICE] = encode_places(knowledge, rows.places[encode])
        derive(out, out[:, COL["house_size"]], out[:, COL["acre_lot"]])
        return pd.DataFrame(out, columns=list(FEATURES), index=subset.index)

    # --- encoding ------------------------------------------------------------------------

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        frame = listing_frame(X)
        out = self._numeric(frame)
        rows = FrameRows(frame, None, self.places_.zips)
        out[:, _PLACE_SLICE] = encode_places(self.places_, rows.places)
        derive(out, out[:, COL["house_size"]], out[:, COL["acre_lot"]])
        return pd.DataFrame(out, columns=list(FEATURES), index=frame.index)

    def _numeric(self, frame: pd.DataFrame) -> np.ndarray:
        """The columns that need no knowledge of places (the rest left NaN)."""
        out = np.full((len(frame), len(FEATURES)), _NAN)
        out[:, COL["status"]] = frame["status"].map(_STATUS_CODE).astype("float64")
        numeric = (
            frame[list(NUMERIC_FEATURES)].apply(pd.to_numeric, errors="coerce").astype("float64")
        )
        out[:, NUMERIC_SLICE] = numeric.to_numpy()
        missing = numeric.isna()
        out[:, COL["is_land"]] = missing[list(LAND_FIELDS)].all(axis=1).astype("float64")
        out[:, COL["missing_count"]] = missing.sum(axis=1).astype("float64")
        sold = pd.to_datetime(frame["prev_sold_date"], errors="coerce")
        out[:, COL["years_since_sale"]] = (
            (pd.Timestamp(self.reference_date_) - sold).dt.days.astype("float64") / 365.25
        ).to_numpy()
        return out

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
            location = self._place_row(state, city, zip_code).tolist()
            if len(places) >= _PLACE_CACHE_SIZE:
                places.clear()
            places[where] = location
        status = get("status")
        sold = as_date(get("prev_sold_date"))
        zip_ppsf, zip_ppa = location[ZIP_PPSF], location[ZIP_PPA]
        local_ppsf, local_ppa = location[LOCAL_PPSF], location[LOCAL_PPA]
        log_size = math.log(size) if size > 0 else _NAN
        log_acre = math.log(acre) if acre > 0 else _NAN
        return [
            _STATUS_CODE.get(status, _NAN) if isinstance(status, str) else _NAN,
            bed,
            bath,
            acre,
            size,
            1.0 if no_bed and no_bath and no_size else 0.0,
            float(no_bed + no_bath + no_acre + no_size),
            _NAN if sold is None else (self.reference_date_ - sold).days / 365.25,
            *location,
            zip_ppsf + log_size,
            zip_ppa + log_acre,
            local_ppsf + log_size,
            local_ppa + log_acre,
        ]

    def encode_batch(self, batch: ListingBatch) -> np.ndarray:
        """The serving path: listing columns → feature matrix, lookups only.

        Places are looked up once per distinct key (and cached across requests);
        everything else is a numpy operation per column.
        """
        n = len(batch)
        out = np.empty((n, len(FEATURES)), dtype="float64")
        if n == 0:
            return out
        out[:, COL["status"]] = np.fromiter(
            map(_STATUS_CODE.get, batch.status, repeat(_NAN)), dtype="float64", count=n
        )
        numbers = np.stack([getattr(batch, name) for name in NUMERIC_FEATURES], axis=1)
        out[:, NUMERIC_SLICE] = numbers
        absent = np.isnan(numbers)
        out[:, COL["is_land"]] = absent[:, LAND_NUMERIC].all(axis=1)
        out[:, COL["missing_count"]] = absent.sum(axis=1)
        out[:, COL["years_since_sale"]] = (
            float(self.reference_date_.toordinal()) - batch.sold_day
        ) / 365.25
        out[:, _PLACE_SLICE] = self._place_rows(batch)
        derive(out, batch.house_size, batch.acre_lot)
        return out

    def _place_row(self, state: Any, city: Any, zip_code: Any) -> np.ndarray:
        return encode_places(self.places_, [place_key(state, city, zip_code)])[0]

    def _place_rows(self, batch: ListingBatch) -> np.ndarray:
        """The place columns of each listing's place: rows of a table that grows as new
        places are asked for (most requests repeat places)."""
        places = self._places
        keys = list(zip(batch.state, batch.city, batch.zip_code, strict=True))
        with places.lock:  # a reset or a growth must not meet a reader halfway
            rows = list(map(places.index.get, keys))
            if None in rows:
                if places.used + len(keys) > _PLACE_CACHE_SIZE:
                    places.reset()
                    rows = [None] * len(keys)
                new = list(dict.fromkeys(k for k, r in zip(keys, rows, strict=True) if r is None))
                encoded = encode_places(self.places_, [place_key(*k) for k in new])
                for key, row in zip(new, encoded, strict=True):
                    places.add(key, row)
                rows = [places.index[k] for k in keys]
            return places.table[cast(list[int], rows)]  # every place has its row now

    @property
    def _places(self) -> PlaceCache:
        cache = self.__dict__.get("_place_cache")
        if cache is None:
            cache = self.__dict__["_place_cache"] = PlaceCache(len(PLACE_COLUMNS))
        return cache

    @property
    def _record_places(self) -> dict[tuple[Any, Any, Any], list[float]]:
        """Place columns by (state, city, zip) as given, for ``encode_record``."""
        cache = self.__dict__.get("_record_place_cache")
        if cache is None:
            cache = self.__dict__["_record_place_cache"] = {}
        return cache

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        for cache in CACHES:  # caches, not part of the fitted model
            state.pop(cache, None)
        return state

    # --- introspection ---------------------------------------------------------------------

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(FEATURES, dtype=object)

    @property
    def categories(self) -> dict[str, list[str]]:
        """Known states, cities and ZIPs (for forms and drift checks)."""
        tables = self.places_.tables
        return {level: sorted(tables[level].index) for level in ("state", "city", "zip")}
