"""The world listings are drawn from: per-state calibration and per-ZIP effects (location,
sizes, lots, land share), fixed and independent of the seed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from homeval.data.generator.parameters import (
    BROKER_SPAN,
    FIELD_FEATURES,
    PRIME_ZIP_PREMIUM,
    PRIME_ZIP_SHARE,
    WORLD_SEED,
    calibration,
)
from homeval.data.generator.places import places, unit_km
from homeval.data.schema import STATES

# --- the world: states and their ZIPs (fixed, independent of the seed) ---------------------


@dataclass(frozen=True)
class States:
    """Per-state calibration, as arrays in ``STATES`` order."""

    names: tuple[str, ...]
    weight: np.ndarray  # default listing mix (sums to 1)
    log_ppsf: np.ndarray  # median $/sqft of houses, log
    log_size: np.ndarray  # median house size, log
    log_land_price: np.ndarray  # median land price, log
    status: np.ndarray  # (states, 3): for_sale, sold, ready_to_build shares


@lru_cache(maxsize=1)
def state_table() -> States:
    table = calibration()["states"]
    rows = [table[name] for name in STATES]
    sold = np.array([r["sold"] for r in rows])
    build = np.array([r["ready_to_build"] for r in rows])
    weight = np.array([r["share"] for r in rows])
    return States(
        names=tuple(STATES),
        weight=weight / weight.sum(),
        log_ppsf=np.log([r["ppsf"] for r in rows]),
        log_size=np.log([r["median_size"] for r in rows]),
        log_land_price=np.log([r["land_price"] for r in rows]),
        status=np.column_stack((1.0 - sold - build, sold, build)),
    )


@dataclass(frozen=True)
class World:
    """States and ZIPs as arrays ready for vectorised sampling."""

    states: tuple[str, ...]
    state_weight: np.ndarray
    zips: np.ndarray  # object array, grouped by state
    zip_city: np.ndarray
    zip_cumweight: np.ndarray  # running sum of ZIP weights (a state's ZIPs are contiguous)
    state_zip_start: np.ndarray  # first ZIP of each state
    state_zip_end: np.ndarray  # one past its last
    zip_location: np.ndarray  # log price effect, weighted median 0 within each state
    state_land_offset: np.ndarray  # the same median over the ZIPs of land listings
    zip_size: np.ndarray  # log house-size shift of the place (urbanity)
    zip_house_lot: np.ndarray  # log lot shift, houses
    zip_land_lot: np.ndarray  # log lot shift, land
    zip_land_share: np.ndarray  # (2, zips): land share of for_sale, sold listings
    broker_pool: np.ndarray  # brokers per state


def _urban_curve(name: str, log_neighbours: np.ndarray) -> np.ndarray:
    """A calibrated effect by urbanity, piecewise linear in log(ZIPs within 10 km)."""
    urban = calibration()["urbanity"]
    return np.interp(log_neighbours, urban["log_neighbours"], urban[name])


def _smooth_field(
    rng: np.random.Generator, points: np.ndarray, scale_km: float, sd: float
) -> np.ndarray:
    """A stationary random function with a Gaussian kernel of ``scale_km`` (random Fourier
    features): nearby points get similar values, far ones independent."""
    omega = rng.normal(0.0, 1.0 / scale_km, (FIELD_FEATURES, 3))
    phase = rng.uniform(0.0, 2 * math.pi, FIELD_FEATURES)
    waves = np.cos(points @ omega.T + phase)
    return sd * math.sqrt(2.0 / FIELD_FEATURES) * waves.sum(axis=1)


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2)])


@lru_cache(maxsize=1)
def world() -> World:
    """Build the world once: ZIPs from ``zipcodes``, numbers from the calibration file."""
    cal, where, st = calibration(), places(), state_table()
    urban = cal["urbanity"]
    spatial = cal["spatial"]
    log_n = np.log(where.neighbours)
    weight = np.exp(np.interp(log_n, urban["log_neighbours"], urban["zip_log_weight"]))
    fixed = np.random.default_rng(WORLD_SEED)
    points = unit_km(where.lat, where.lon)
    location = _urban_curve("ppsf_effect", log_n)
    for scale, sd in zip(spatial["field_scales_km"], spatial["field_sd"], strict=True):
        location = location + _smooth_field(fixed, points, scale, sd)
    location = location + fixed.normal(0.0, spatial["zip_sd"], len(log_n))
    prime = fixed.random(len(log_n)) < PRIME_ZIP_SHARE
    location = location + np.where(prime, fixed.normal(*PRIME_ZIP_PREMIUM, len(log_n)), 0.0)
    land_share = np.vstack(
        [
            np.interp(log_n, urban["log_neighbours"], urban["land_share"][status])
            for status in ("for_sale", "sold")
        ]
    )
    # centre each state on the ZIPs its houses are in, so the state median is the calibrated
    house_weight = weight * (1.0 - land_share.mean(axis=0))
    n_states = len(st.names)
    start = np.searchsorted(where.state, np.arange(n_states), "left")
    end = np.searchsorted(where.state, np.arange(n_states), "right")
    if (end <= start).any():
        missing = [st.names[s] for s in np.flatnonzero(end <= start)]
        raise ValueError(f"zipcodes has no STANDARD ZIP for {missing}")
    land_weight = weight * land_share.mean(axis=0)
    land_offset = np.empty(n_states)
    for s in range(n_states):
        members = slice(start[s], end[s])
        location[members] -= _weighted_median(location[members], house_weight[members])
        land_offset[s] = _weighted_median(location[members], land_weight[members])
    return World(
        states=st.names,
        state_weight=st.weight,
        zips=where.zips,
        zip_city=where.city,
        zip_cumweight=np.cumsum(weight),
        state_zip_start=start,
        state_zip_end=end,
        zip_location=location,
        state_land_offset=land_offset,
        zip_size=_urban_curve("size_effect", log_n),
        zip_house_lot=_urban_curve("house_lot_effect", log_n),
        zip_land_lot=_urban_curve("land_lot_effect", log_n),
        zip_land_share=land_share,
        broker_pool=np.clip(np.round(60 + 1900 * np.sqrt(st.weight)), 60, BROKER_SPAN - 10).astype(
            np.int64
        ),
    )
