"""Where a generated listing can be: the active STANDARD ZIPs of the ``zipcodes`` package,
with their urbanity (ZIPs within ``URBAN_RADIUS_KM``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from homeval.data.generator.parameters import (
    EARTH_RADIUS_KM,
    EXCLUDED_CITY_SUFFIXES,
    URBAN_RADIUS_KM,
)
from homeval.data.schema import STATE_CODES

# --- places: the zipcodes package ---------------------------------------------------------


@dataclass(frozen=True)
class Places:
    """Active STANDARD ZIPs of the ``zipcodes`` package, sorted by state (``STATES`` order)
    then ZIP: where a generated listing can be."""

    zips: np.ndarray  # object array of 5-digit strings
    state: np.ndarray  # index into schema.STATES
    city: np.ndarray  # object array, the package's city of each ZIP
    lat: np.ndarray
    lon: np.ndarray
    neighbours: np.ndarray  # ZIPs within URBAN_RADIUS_KM, itself included


def unit_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the sphere as 3-D coordinates in km (chord ≈ great-circle at short range)."""
    la, lo = np.radians(lat), np.radians(lon)
    return EARTH_RADIUS_KM * np.column_stack(
        (np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la))
    )


def count_within(
    lat: np.ndarray, lon: np.ndarray, ref_lat: np.ndarray, ref_lon: np.ndarray, km: float
) -> np.ndarray:
    """For each point, how many reference points lie within ``km`` (a 3-D grid of km-sized
    cells: only the 27 cells around a point can hold its neighbours)."""
    points, refs = unit_km(np.asarray(lat), np.asarray(lon)), unit_km(ref_lat, ref_lon)
    span = 2 * int(EARTH_RADIUS_KM / km) + 8

    def key(cells: np.ndarray) -> np.ndarray:
        shifted = cells + span // 2
        return (shifted[:, 0] * span + shifted[:, 1]) * span + shifted[:, 2]

    cells = np.floor(points / km).astype(np.int64)
    ref_keys = key(np.floor(refs / km).astype(np.int64))
    order = np.argsort(ref_keys, kind="stable")
    sorted_keys = ref_keys[order]
    chord = 2 * EARTH_RADIUS_KM * math.sin(km / (2 * EARTH_RADIUS_KM))
    counts = np.zeros(len(points), dtype=np.int64)
    for offset in np.array(np.meshgrid([-1, 0, 1], [-1, 0, 1], [-1, 0, 1])).T.reshape(-1, 3):
        wanted = key(cells + offset)
        lo = np.searchsorted(sorted_keys, wanted, "left")
        sizes = np.searchsorted(sorted_keys, wanted, "right") - lo
        if not sizes.any():
            continue
        point = np.repeat(np.arange(len(points)), sizes)
        starts = np.repeat(lo - np.concatenate(([0], np.cumsum(sizes)[:-1])), sizes)
        ref = order[np.arange(len(point)) + starts]
        near = np.linalg.norm(points[point] - refs[ref], axis=1) <= chord
        counts += np.bincount(point[near], minlength=len(points))
    return counts


@lru_cache(maxsize=1)
def places() -> Places:
    """The ZIPs listings are drawn from, with their urbanity; built from ``zipcodes``."""
    import zipcodes

    codes = {code: i for i, code in enumerate(STATE_CODES.values())}
    rows = sorted(
        (codes[z["state"]], z["zip_code"], z["city"], float(z["lat"]), float(z["long"]))
        for z in zipcodes.filter_by(active=True, zip_code_type="STANDARD")
        if z["state"] in codes and not z["city"].endswith(EXCLUDED_CITY_SUFFIXES)
    )
    state, zips, city, lat, lon = zip(*rows, strict=True)
    lat_a, lon_a = np.array(lat), np.array(lon)
    # the names are copied out of the package's ~30k records before those are freed: a
    # string kept from a record pins the memory around it (~70 MB kept by the feed)
    zip_text, city_text = np.array(zips, dtype=str), np.array(city, dtype=str)
    del rows, zips, city
    return Places(
        zips=zip_text.astype(object),
        state=np.array(state, dtype=np.int64),
        city=city_text.astype(object),
        lat=lat_a,
        lon=lon_a,
        neighbours=count_within(lat_a, lon_a, lat_a, lon_a, URBAN_RADIUS_KM),
    )
