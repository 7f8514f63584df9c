"""Where a listing is: ZIP → coordinates, county and how built-up its surroundings are, and
the price levels of the known listings nearest to a point.

A national feed meets ZIPs, cities and whole states the model has never seen.  Their
names then say nothing, and an encoding by name falls back to the national average.
Where the place *is* still says a lot: the nearest listings the model does know price
its surroundings, and a town of many ZIPs is not a farm county.  The coordinates come
from public data shipped offline with a package — ``zipcodes`` (MIT), the USPS ZIP table
with each ZIP's latitude, longitude and county — so nothing is downloaded at run time.
The fitted encoder keeps what it needs of it per ZIP, so serving looks places up in its
own tables and never reads the package.

Neighbour levels are computed on ZIP centroids, not listings: listings of one ZIP share
its point, so the known listings are summed per ZIP and "the k nearest listings" are the
nearest ZIPs until they hold k (the last one counted in part).  That keeps the search to
the ~43k ZIPs whatever the number of listings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import numpy as np

EARTH_KM: Final = 6371.0088
DENSITY_KM: Final = (10.0, 30.0)
"""Radii of the built-up measures: how many residential ZIPs lie within them."""
_FIRST_WIDTH: Final = 32
"""Nearest points looked at first; rows whose points hold too few listings look again."""


@dataclass(frozen=True)
class ZipTable:
    """Every ZIP the package knows, as arrays indexed by ``row[zip]``."""

    row: dict[str, int]
    zips: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    county: np.ndarray
    """``'CT|Hartford County'`` (state code and county name), None where the table has none."""
    density: np.ndarray
    """Residential (STANDARD) ZIPs within each of ``DENSITY_KM`` of the ZIP, shape (n, 2)."""

    def __len__(self) -> int:
        return len(self.zips)

    def rows(self, zips: Sequence[object]) -> np.ndarray:
        """Row of each ZIP (5-digit text), -1 where the table does not know it."""
        get = self.row.get
        found = (get(z, -1) if isinstance(z, str) else -1 for z in zips)
        return np.fromiter(found, dtype=np.int64, count=len(zips))


@lru_cache(maxsize=1)
def zip_table() -> ZipTable:
    """Load the package's table once per process (about half a second)."""
    import zipcodes

    records = [r for r in zipcodes.list_all() if r.get("lat") and r.get("long")]
    seen: dict[str, int] = {}
    keep: list[dict[str, Any]] = []
    for record in records:
        if record["zip_code"] not in seen:
            seen[record["zip_code"]] = len(keep)
            keep.append(record)
    latitude = np.array([float(r["lat"]) for r in keep])
    longitude = np.array([float(r["long"]) for r in keep])
    county = np.array(
        [f"{r['state']}|{r['county']}" if r.get("county") else None for r in keep], dtype=object
    )
    residential = np.array([r["zip_code_type"] == "STANDARD" for r in keep])
    from scipy.spatial import cKDTree

    points = _unit(latitude, longitude)
    tree = cKDTree(points[residential])
    density = np.column_stack(
        [
            tree.query_ball_point(points, r=2 * np.sin(km / EARTH_KM / 2), return_length=True)
            for km in DENSITY_KM
        ]
    ).astype("float64")
    return ZipTable(
        row=seen,
        zips=np.array([r["zip_code"] for r in keep], dtype=object),
        latitude=latitude,
        longitude=longitude,
        county=county,
        density=density,
    )


class NeighbourLevels:
    """Known values summed per point (ZIP centroid), searchable by distance.

    ``mean(lat, lon, ks)`` gives, per query point, the mean value of the k known listings
    nearest to it and how far one has to go to find them (km): the price level of a
    place's surroundings, from its own ZIP outwards.  Several values (price, price per
    sqft, per acre) share the points; each is counted over the listings that have it.
    """

    def __init__(
        self, latitude: np.ndarray, longitude: np.ndarray, total: np.ndarray, count: np.ndarray
    ) -> None:
        self.latitude = latitude
        self.longitude = longitude
        self.total = total
        """Per point and value: the sum of that value over the point's listings."""
        self.count = count
        """Per point and value: how many of the point's listings have it."""
        self._tree: Any = None

    @classmethod
    def fit(
        cls, point: np.ndarray, values: np.ndarray, latitude: np.ndarray, longitude: np.ndarray
    ) -> NeighbourLevels:
        """``point`` is each listing's row in a table of ``latitude``/``longitude`` (-1: none),
        ``values`` one column per value (NaN: the listing does not have it)."""
        values = np.asarray(values, dtype="float64").reshape(len(point), -1)
        ok = values == values
        used = (point >= 0) & ok.any(axis=1)
        rows, inverse = np.unique(point[used], return_inverse=True)
        total = (
            np.column_stack(
                [
                    np.bincount(
                        inverse,
                        weights=np.where(ok[used, j], values[used, j], 0.0),
                        minlength=len(rows),
                    )
                    for j in range(values.shape[1])
                ]
            )
            if len(rows)
            else np.zeros((0, values.shape[1]))
        )
        count = (
            np.column_stack(
                [
                    np.bincount(inverse, weights=ok[used, j].astype("float64"), minlength=len(rows))
                    for j in range(values.shape[1])
                ]
            )
            if len(rows)
            else np.zeros((0, values.shape[1]))
        )
        return cls(latitude[rows], longitude[rows], total, count)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_tree": None}  # rebuilt on first use: not model state

    def _search(self) -> Any:
        if self._tree is None:
            from scipy.spatial import cKDTree

            self._tree = cKDTree(_unit(self.latitude, self.longitude))
        return self._tree

    def mean(
        self, latitude: np.ndarray, longitude: np.ndarray, ks: Sequence[Sequence[int]]
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Per value j and k in ``ks[j]``: the mean of value j over the k nearest listings
        that have it (columns of ``means[j]``), and per k of ``ks[0]`` the km one goes to
        find that many listings of value 0 (``reach``).

        NaN where the query has no coordinates or nothing is known; the search looks at the
        ``max(k)`` nearest points, so a value few listings have may be averaged over fewer.
        """
        n = len(latitude)
        means = [np.full((n, len(k)), np.nan) for k in ks]
        reach = np.full((n, len(ks[0])), np.nan)
        ok = np.flatnonzero(np.isfinite(latitude) & np.isfinite(longitude))
        if not len(ok) or not len(self.count):
            return means, reach
        most = max(max(k) for k in ks)
        todo, width = ok, min(len(self.count), _FIRST_WIDTH)
        while len(todo):
            chord, index = self._search().query(_unit(latitude[todo], longitude[todo]), k=width)
            chord, index = chord.reshape(len(todo), width), index.reshape(len(todo), width)
            # the nearest ``width`` points must hold ``most`` listings of every value, or
            # be all there are; the others are asked again with twice the width
            short = self.count[index].sum(axis=1).min(axis=1) < most
            if width < len(self.count) and short.any():
                done, todo_next = todo[~short], todo[short]
                chord, index = chord[~short], index[~short]
            else:
                done, todo_next = todo, todo[:0]
            self._fill(done, chord, index, ks, means, reach)
            todo, width = todo_next, min(len(self.count), width * 4)
        return means, reach

    def _fill(
        self,
        at: np.ndarray,
        chord: np.ndarray,
        index: np.ndarray,
        ks: Sequence[Sequence[int]],
        means: list[np.ndarray],
        reach: np.ndarray,
    ) -> None:
        """Means over the first k listings of each row's nearest points (in order)."""
        if not len(at):
            return
        km = 2 * EARTH_KM * np.arcsin(np.minimum(chord / 2, 1.0))
        rows = np.arange(len(at))
        for j, wanted in enumerate(ks):
            count, total = self.count[index, j], self.total[index, j]
            seen, summed = np.cumsum(count, axis=1), np.cumsum(total, axis=1)
            available = seen[:, -1]
            for c, k in enumerate(wanted):
                # the point that completes k listings (or the last), and what it adds
                last = np.minimum((seen < k).sum(axis=1), seen.shape[1] - 1)
                before = seen[rows, last] - count[rows, last]
                upto = summed[rows, last] - total[rows, last]
                with np.errstate(divide="ignore", invalid="ignore"):
                    part = np.minimum(k, available) - before
                    per_point = np.where(
                        count[rows, last] > 0, total[rows, last] / count[rows, last], 0.0
                    )
                    means[j][at, c] = (upto + part * per_point) / np.minimum(k, available)
                if j == 0:
                    reach[at, c] = km[rows, last]


def _unit(latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
    """Points on the unit sphere: straight-line (chord) order is great-circle order."""
    lat, lon = np.radians(latitude), np.radians(longitude)
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
