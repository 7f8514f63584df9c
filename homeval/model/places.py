"""What the model knows of a place: its price level at every scale, from its ZIP outwards.

A listing's place is its (state, city, ZIP).  The model reads it through:

* **where it is**: the ZIP's latitude and longitude, and how built-up its surroundings are
  (residential ZIPs within 10 and 30 km), from ``homeval.model.geography``;
* **its surroundings' prices**: the mean log price (per sqft, per acre) of the 5, 25, 100
  and 400 known listings nearest to the ZIP, and how far one goes to find them;
* **a hierarchy of names with shrinkage**: region → state → county → city → ZIP, each
  level's mean log price (per sqft, per acre) shrunk towards the level above by
  ``smoothing`` pseudo-listings.  The top, "region", is the 400 nearest listings, so a
  state, county, city or ZIP with few listings borrows from the places around it rather
  than from the national mean, and one never seen gets its surroundings' level;
* **how well it is known**: how many listings of its ZIP, city and state were seen.  The
  same counts give a listing its *novelty* (``NOVELTY``), the segment its price interval
  is calibrated for.

Every path that encodes (training frames, request batches, single listings) calls
``PlaceKnowledge.encode`` on distinct places, so they get the same numbers by
construction.  Fitted on some listings, it encodes others as the model will meet them:
training rows are encoded by knowledge fitted without their fold (``features``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from homeval.data.listing_batch import as_float
from homeval.model.geography import NeighbourLevels, ZipTable, zip_table

TARGETS: Final = ("price", "ppsf", "ppa")
"""Encoded per place: log price, log price per sqft, log price per acre of lot."""
LEVELS: Final = ("state", "county", "city", "zip")
NEIGHBOURS: Final = {"near": 5, "local": 25, "area": 100, "region": 400}
"""Scales of the surroundings, in known listings counted outwards from the ZIP."""
_NEIGHBOUR_TARGETS: Final = {
    "near": ("price", "ppsf"),
    "local": ("price", "ppsf", "ppa"),
    "area": ("price", "ppsf"),
    "region": ("price", "ppsf", "ppa"),
}

PLACE_COLUMNS: Final = (
    "zip_number",
    "latitude",
    "longitude",
    "zip_density",
    "area_density",
    *(f"region_{t}" for t in TARGETS),
    *(f"{level}_{t}" for level in LEVELS for t in TARGETS),
    "zip_listings",
    "city_listings",
    "state_listings",
    *(
        f"{scale}_{t}"
        for scale in ("near", "local", "area")
        for t in (*_NEIGHBOUR_TARGETS[scale], "km")
    ),
    "region_km",
)
"""The columns ``encode`` returns, in this order."""

NOVELTY: Final = ("known_zip", "new_zip", "new_city", "new_state")
"""How well the model knows a listing's place: its ZIP has listings it learnt from; else
its city does (a new ZIP); else its state does (a new city); else nothing near by name."""

_COL: Final = {name: i for i, name in enumerate(PLACE_COLUMNS)}
_NAN: Final = float("nan")

Place = tuple[Any, Any, Any]
"""(state, city key, ZIP) — ``encoding.city_key`` makes the city key."""


@dataclass
class PlaceKnowledge:
    """Place tables and neighbour levels fitted on some listings (see the module docstring)."""

    smoothing: float
    global_means: tuple[float, float, float]
    tables: dict[str, LevelTable]
    """Per level in ``LEVELS``: (sum, count) of each target per key."""
    neighbours: NeighbourLevels
    """The known listings per ZIP point, for each of ``TARGETS``."""
    zips: ZipTable = field(repr=False)

    @classmethod
    def fit(
        cls,
        keys: Mapping[str, np.ndarray],
        targets: Mapping[str, np.ndarray],
        zip_rows: np.ndarray,
        smoothing: float,
        zips: ZipTable | None = None,
    ) -> PlaceKnowledge:
        """``keys`` per level in ``LEVELS`` (object arrays, None where absent), ``targets``
        per name in ``TARGETS`` (NaN where a listing has none), ``zip_rows`` each listing's
        row in the ZIP table."""
        zips = zips or zip_table()
        columns: dict[str, np.ndarray] = {}
        means = []
        for name in TARGETS:
            values = targets[name]
            ok = np.isfinite(values)
            means.append(float(values[ok].mean()) if ok.any() else 0.0)
            columns[f"{name}_sum"] = np.where(ok, values, 0.0)
            columns[f"{name}_n"] = ok.astype("float64")
        sums = pd.DataFrame(columns)
        tables: dict[str, LevelTable] = {}
        for level in LEVELS:
            key = keys[level]
            present = pd.notna(key)
            grouped = sums[present].groupby(key[present]).sum()
            tables[level] = LevelTable(
                {str(k): i for i, k in enumerate(grouped.index)}, grouped.to_numpy(dtype="float64")
            )
        neighbours = NeighbourLevels.fit(
            zip_rows,
            np.column_stack([targets[name] for name in TARGETS]),
            zips.latitude,
            zips.longitude,
        )
        g = (means[0], means[1], means[2])
        return cls(float(smoothing), g, tables, neighbours, zips)

    def encode(self, places: Sequence[Place]) -> np.ndarray:
        """``PLACE_COLUMNS`` for each place (best called once per distinct place)."""
        n = len(places)
        out = np.full((n, len(PLACE_COLUMNS)), _NAN)
        if n == 0:
            return out
        zips = [p[2] for p in places]
        rows = self.zips.rows(zips)
        known = rows >= 0
        safe = np.where(known, rows, 0)
        latitude = np.where(known, self.zips.latitude[safe], _NAN)
        longitude = np.where(known, self.zips.longitude[safe], _NAN)
        out[:, _COL["zip_number"]] = [as_float(z) for z in zips]
        out[:, _COL["latitude"]] = latitude
        out[:, _COL["longitude"]] = longitude
        out[:, _COL["zip_density"]] = np.where(known, self.zips.density[safe, 0], _NAN)
        out[:, _COL["area_density"]] = np.where(known, self.zips.density[safe, 1], _NAN)

        scales = [[s for s in NEIGHBOURS if name in _NEIGHBOUR_TARGETS[s]] for name in TARGETS]
        means, reach = self.neighbours.mean(
            latitude, longitude, [[NEIGHBOURS[s] for s in group] for group in scales]
        )
        for name, group, values in zip(TARGETS, scales, means, strict=True):
            for j, scale in enumerate(group):
                out[:, _COL[f"{scale}_{name}"]] = values[:, j]
        for j, scale in enumerate(scales[0]):  # every scale holds price
            out[:, _COL[f"{scale}_km"]] = reach[:, j]

        county = [c if k else None for c, k in zip(self.zips.county[safe], known, strict=True)]
        m = self.smoothing
        level_keys = {
            "state": [p[0] for p in places],
            "county": county,
            "city": [p[1] for p in places],
            "zip": zips,
        }
        found = {level: self.tables[level].rows(level_keys[level]) for level in LEVELS}
        for t, name in enumerate(TARGETS):
            region = out[:, _COL[f"region_{name}"]]
            prior = np.where(np.isfinite(region), region, self.global_means[t])
            out[:, _COL[f"region_{name}"]] = prior
            for level in LEVELS:
                rows, entries = found[level]
                seen = rows >= 0
                total, count = entries[:, 2 * t], entries[:, 2 * t + 1]
                prior = np.where(seen, (total + m * prior) / (count + m), prior)
                out[:, _COL[f"{level}_{name}"]] = prior
        for level in ("zip", "city", "state"):
            rows, entries = found[level]
            out[:, _COL[f"{level}_listings"]] = np.where(rows >= 0, np.log1p(entries[:, 1]), 0.0)
        return out


@dataclass
class LevelTable:
    """One level's sums: ``values[index[key]]`` is (sum, count) of each target."""

    index: dict[str, int]
    values: np.ndarray

    def rows(self, keys: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Row of each key (-1: unknown or not text) and its values (zeros when unknown)."""
        get = self.index.get
        rows = np.fromiter(
            (get(k, -1) if isinstance(k, str) else -1 for k in keys),
            dtype=np.int64,
            count=len(keys),
        )
        if not len(self.values):
            return rows, np.zeros((len(keys), 2 * len(TARGETS)))
        return rows, np.where((rows >= 0)[:, None], self.values[np.maximum(rows, 0)], 0.0)

    def __contains__(self, key: object) -> bool:
        return key in self.index

    def __len__(self) -> int:
        return len(self.index)


def novelty_codes(place_columns: np.ndarray) -> np.ndarray:
    """Index into ``NOVELTY`` per encoded row (``PLACE_COLUMNS`` or a matrix holding them
    at ``offset``): the finest level of the place the model learnt from."""
    zip_n = place_columns[:, _COL["zip_listings"]]
    city_n = place_columns[:, _COL["city_listings"]]
    state_n = place_columns[:, _COL["state_listings"]]
    return np.where(zip_n > 0, 0, np.where(city_n > 0, 1, np.where(state_n > 0, 2, 3)))
