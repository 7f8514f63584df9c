"""Synthetic Realtor listings that look like the real national feed, for tests, demos and drift.

The real file is 2.2M rows we may not redistribute, so the feed simulator and the tests
need listings made up on the spot that behave like real ones: the national state mix and
price levels, the status mix (for_sale / sold / ready_to_build) with each status's missing
values, land listings with no bed/bath/size, the same skewed quantiles, properties listed
twice (for sale, then sold), real places whose location moves prices, and a little junk
that the cleaning step must catch.

Where the numbers come from (``homeval/data/README.md`` has the details):

* ``homeval/data/calibration.json``, written by ``scripts/calibrate_generator.py`` from the
  national random sample of the Kaggle file (``shared/data/realtor-national``): state mix,
  per-state $/sqft, house size, land price and status mix, missing-value rates per status,
  land share and lot/size effects by urbanity, quantiles, dates, the sizes of the spatial
  price effects.  The real rows are not needed at run time.
* the ``zipcodes`` package: every listing is in an active STANDARD ZIP of its state, with
  that ZIP's city, so ZIP → latitude/longitude/county agrees with what the model is taught.
  A ZIP's *urbanity* is the number of such ZIPs within 10 km; it sets how many listings
  the ZIP gets, its price premium, its lot and house sizes and its share of land listings.
* the hedonic model below (hand-tuned so generated correlations match the sample's).

Features are drawn with a Gaussian copula: correlated standard normals pushed through
each field's quantile function (piecewise log-linear between the calibrated quantiles).
Prices then follow a hedonic model (log price rises with log size, baths, lot and
location), and location is spatially coherent: a smooth function of latitude/longitude
(two random Gaussian-kernel fields, 10 and 60 km) plus the urbanity premium plus a small
per-ZIP effect, centred so each state's median $/sqft is the calibrated one.

A generated frame carries values as the feed would send them: floats (NaN when missing)
for the numeric and id fields, strings or None for the rest, dates as ISO strings.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from statistics import NormalDist
from typing import Any, Final

import numpy as np
import pandas as pd

from homeval.data.schema import LISTING_FIELDS, STATE_CODES, STATES, normalise_state

# --- what the calibration file does not hold: the hedonic model ---------------------------

REPEAT_RECORD_SHARE: Final = 0.104
"""Records of a property listed more than once (a for_sale + sold pair): the whole Kaggle
file's share (shared/data/realtor/STATS.md section 9; a 10k sample holds almost no pair)."""

FEATURE_CORRELATION: Final = np.array(
    [  # latent normals of log(house_size), bed, bath, log(acre_lot)
        [1.00, 0.71, 0.81, 0.19],
        [0.71, 1.00, 0.70, 0.10],
        [0.81, 0.70, 1.00, 0.08],
        [0.19, 0.10, 0.08, 1.00],
    ]
)
"""Within a place; set so generated correlations match the national sample's (the tests
check them), a little above the observed ones where bed/bath are integers: rounding to
counts weakens a latent correlation."""

SIZE_LOG_SD: Final = 0.45
"""Spread of log(house_size) within a state (the sample's IQR/1.349): scales how far a
state's bigger houses move its rooms."""

# Hedonic price model (log scale), tuned so generated correlations match the sample's.
SIZE_ELASTICITY: Final = 0.60
BATH_EFFECT: Final = 0.28  # per latent sd of bath, size held fixed
BED_EFFECT: Final = -0.14  # more bedrooms in the same size: smaller rooms
LOT_EFFECT: Final = 0.04  # per latent sd of log(acre_lot), for that place
HOUSE_NOISE_SCALE: Final = 0.19
MANSION_FROM: Final = 1.4  # latent sd of size where the premium starts (top 8%)
MANSION_PREMIUM: Final = 0.8  # log price per latent sd above that
PRIME_ZIP_SHARE: Final = 0.02
PRIME_ZIP_PREMIUM: Final = (0.8, 0.3)
"""Waterfront and resort ZIPs: the long upper tail no smooth field gives."""
LAND_LOT_ELASTICITY: Final = 0.45
LAND_NOISE_SCALE: Final = 0.70
NOISE_DF: Final = 3
"""Price noise is Student-t (scale x t with 3 degrees of freedom): most listings sit near
their value, a few far off, as in the sample, whose within-state 1% and 99% $/sqft
quantiles lie twice as far out as its quartiles suggest."""
NOISE_CLIP: Final = 3.0  # log units: no price 20x off its value from noise alone
SALE_DISCOUNT: Final = (-0.03, 0.05)  # sold price vs its own for_sale record (mean, sd)
FIELD_FEATURES: Final = 256
"""Random Fourier features per smooth price field."""

BROKER_SPAN: Final = 2000
"""Broker ids of a state are a block of this many codes (brokers work in one state)."""

JUNK_SHARE: Final = 0.006
"""Rows with absurd but well-formed values (price $1, 300M, 1.4M sqft ...): real files
hold them (STATS.md section 2; the national sample ~0.1%); cleaning, not validation, must
catch them.  Kept above the real rate so that every batch exercises the cleaning rules."""
MALFORMED_SHARE: Final = 0.002
"""Rows that schema validation rejects (negative price, unknown state, bad ZIP or date)."""
EXACT_DUPLICATE_SHARE: Final = 0.002
"""Rows sent twice verbatim (the old Kaggle version repeats rows; feeds resend)."""

URBAN_RADIUS_KM: Final = 10.0
"""Urbanity of a place: active STANDARD ZIPs (itself included) within this many km."""
EARTH_RADIUS_KM: Final = 6371.0
EXCLUDED_CITY_SUFFIXES: Final = (" AFB",)
"""Air Force bases have STANDARD ZIPs but no houses for sale."""
WORLD_SEED: Final = 20_240_101
"""The world (fields, ZIP effects, prime ZIPs) is fixed: it never depends on ``seed``."""

STATUSES: Final = ("for_sale", "sold", "ready_to_build")
_NORMAL = NormalDist()


@lru_cache(maxsize=1)
def calibration() -> dict[str, Any]:
    """``homeval/data/calibration.json`` (see ``scripts/calibrate_generator.py``)."""
    with (
        resources.files("homeval.data")
        .joinpath("calibration.json")
        .open(encoding="utf-8") as handle
    ):
        loaded: dict[str, Any] = json.load(handle)
    return loaded


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


# --- state mixes (drift) ------------------------------------------------------------------


def default_state_mix() -> dict[str, float]:
    """The usual share of listings per state (the national sample's state mix)."""
    table = state_table()
    return {s: float(p) for s, p in zip(table.names, table.weight, strict=True)}


def _resolve_state(key: str) -> str:
    name = normalise_state(key)
    if name is None or name not in state_table().names:
        raise ValueError(f"unknown state {key!r} (use a full name like 'Texas' or a code 'TX')")
    return name


def state_mix(overrides: Mapping[str, float]) -> dict[str, float]:
    """A full mix where the named states get these shares and the rest keep their usual
    proportions (what ``HOMEVAL_DATASOURCE_DRIFT_STATES='CA:0.5,TX:0.3'`` means)."""
    fixed: dict[str, float] = {}
    for key, share in overrides.items():
        if not (isinstance(share, int | float) and math.isfinite(share) and 0 <= share <= 1):
            raise ValueError(f"share of {key!r} must be between 0 and 1, got {share!r}")
        fixed[_resolve_state(key)] = fixed.get(_resolve_state(key), 0.0) + float(share)
    total = sum(fixed.values())
    if total > 1 + 1e-9:
        raise ValueError(f"state shares add up to {total:.3g}, more than 1")
    base = default_state_mix()
    rest = {s: p for s, p in base.items() if s not in fixed}
    scale = (1 - total) / sum(rest.values()) if rest else 0.0
    return {s: fixed.get(s, rest.get(s, 0.0) * scale) for s in base}


def parse_state_mix(text: str) -> dict[str, float]:
    """'California:0.5,TX:0.3' → {'California': 0.5, 'Texas': 0.3}; errors name the part."""
    shares: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, sep, value = part.rpartition(":")
        if not sep or not key.strip():
            raise ValueError(f"state mix part {part!r} is not STATE:SHARE")
        try:
            share = float(value)
        except ValueError:
            raise ValueError(f"state mix part {part!r}: {value!r} is not a number") from None
        shares[_resolve_state(key.strip())] = share
    return shares


def _state_probabilities(state_weights: Mapping[str, float] | None) -> np.ndarray:
    table = state_table()
    if state_weights is None:
        return table.weight
    probs = np.zeros(len(table.names))
    for key, value in state_weights.items():
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise ValueError(f"weight of state {key!r} must be a number >= 0, got {value!r}")
        probs[table.names.index(_resolve_state(key))] += float(value)
    if probs.sum() <= 0:
        raise ValueError("state_weights gives no state a positive weight")
    return probs / probs.sum()


# --- sampling helpers ---------------------------------------------------------------------


def _knots(quantiles: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Quantile table → (normal scores, log values) for piecewise log-linear interpolation."""
    z = np.array([_NORMAL.inv_cdf(p) for p, _ in quantiles])
    return z, np.log([v for _, v in quantiles])


def _from_quantiles(z: np.ndarray, quantiles: list[list[float]]) -> np.ndarray:
    knots_z, knots_log = _knots(quantiles)
    return np.exp(np.interp(z, knots_z, knots_log))


def _from_counts(z: np.ndarray, counts: Mapping[str, int]) -> np.ndarray:
    values = np.array(sorted(float(v) for v in counts), dtype=np.float64)
    probs = np.array([counts[str(int(v))] for v in values], dtype=np.float64)
    cuts = np.cumsum(probs / probs.sum())[:-1]
    thresholds = np.array([_NORMAL.inv_cdf(float(c)) for c in cuts])
    return values[np.searchsorted(thresholds, z)]


def _date_knots(status: str) -> tuple[np.ndarray, np.ndarray]:
    table = calibration()["prev_sold_date"][status]
    probs = np.array([p for p, _ in table], dtype=np.float64)
    days = np.array([date.fromisoformat(d).toordinal() for _, d in table], dtype=np.float64)
    return probs, days


def _date_ordinals(
    rng: np.random.Generator, n: int, status: str, before: np.ndarray | None = None
) -> np.ndarray:
    """Days drawn from the calibrated date quantiles of ``status`` (piecewise uniform);
    ``before`` caps each draw strictly below a day (a sale before a later one)."""
    probs, days = _date_knots(status)
    u = rng.random(n)
    if before is not None:
        u = u * np.interp(before.astype(np.float64), days, probs)
    ordinal = np.interp(u, probs, days).astype(np.int64)
    if before is not None:
        ordinal = np.minimum(ordinal, before - 1)
    return ordinal


_EPOCH: Final = date(1970, 1, 1).toordinal()
_DATE_SPAN: Final = (date(1960, 1, 1).toordinal(), date(2030, 1, 1).toordinal())
"""The usual span of the date lookup table (it widens if a calibration needs more)."""


def _round_prices(rng: np.random.Generator, price: np.ndarray) -> np.ndarray:
    endings = calibration()["price_endings"]
    thousand, nine_hundred = endings["000"], endings["900"]
    u = rng.random(len(price))
    thousands = np.maximum(np.round(price / 1000.0), 1.0) * 1000.0
    return np.where(
        u < thousand,
        thousands,
        np.where(
            u < thousand + nine_hundred,
            thousands - 100.0,
            np.maximum(np.round(price / 50.0) * 50.0, 50.0),
        ),
    )


def _pick_zips(rng: np.random.Generator, w: World, state: np.ndarray) -> np.ndarray:
    """A ZIP of each row's state, with the calibrated ZIP weights (urbanity)."""
    cum = w.zip_cumweight
    first = w.state_zip_start[state]
    last = w.state_zip_end[state] - 1
    below = np.where(first > 0, cum[np.maximum(first - 1, 0)], 0.0)
    target = below + rng.random(len(state)) * (cum[last] - below)
    return np.clip(np.searchsorted(cum, target, side="right"), first, last)


# --- the hedonic model ---------------------------------------------------------------------


def _house_terms(within: np.ndarray, log_rel_size: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Log price of a house relative to a typical house of its place: size, rooms and lot
    as usual *for that place* (the latent normals), mansions, noise."""
    return (
        SIZE_ELASTICITY * log_rel_size
        + BATH_EFFECT * within[:, 2]
        + BED_EFFECT * within[:, 1]
        + LOT_EFFECT * within[:, 3]
        + MANSION_PREMIUM * np.maximum(within[:, 0] - MANSION_FROM, 0.0)
        + noise
    )


def _land_terms(z_lot: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Log price of land relative to the place's typical land: its lot, noise."""
    lots = calibration()["quantiles"]["land_lot"]
    typical = _from_quantiles(np.zeros(1), lots)[0]
    return LAND_LOT_ELASTICITY * np.log(_from_quantiles(z_lot, lots) / typical) + noise


def _house_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.clip(HOUSE_NOISE_SCALE * rng.standard_t(NOISE_DF, n), -NOISE_CLIP, NOISE_CLIP)


def _land_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.clip(LAND_NOISE_SCALE * rng.standard_t(NOISE_DF, n), -NOISE_CLIP, NOISE_CLIP)


@lru_cache(maxsize=1)
def _median_lifts() -> tuple[float, float]:
    """How far the skewed parts (big houses' lower $/sqft, mansions, big lots) move the
    median $/sqft of houses and the median land price off their place's level.  Prices
    take them off, so a state's medians are the calibrated ones.  Measured once on fixed
    draws, with a location spread like the world's."""
    rng = np.random.default_rng(WORLD_SEED + 1)
    m = 200_000
    within = rng.standard_normal((m, 4)) @ np.linalg.cholesky(FEATURE_CORRELATION).T
    log_rel = np.log(_from_quantiles(within[:, 0], calibration()["quantiles"]["relative_size"]))
    spatial = calibration()["spatial"]
    spread = rng.normal(0.0, math.hypot(spatial["zip_sd"], *spatial["field_sd"]), m)
    house = _house_terms(within, log_rel, _house_noise(rng, m)) - log_rel + spread
    land = _land_terms(within[:, 3], _land_noise(rng, m)) + spread
    return float(np.median(house)), float(np.median(land))


# --- the generator ------------------------------------------------------------------------


def generate(
    n: int,
    *,
    seed: int = 0,
    price_shift: float = 0.0,
    state_weights: Mapping[str, float] | None = None,
    junk_share: float = JUNK_SHARE,
    malformed_share: float = MALFORMED_SHARE,
) -> pd.DataFrame:
    """``n`` raw listings in ``LISTING_FIELDS`` order, the same for the same arguments.

    ``price_shift`` moves the price level (0.1 = every price 10% higher) and
    ``state_weights`` replaces the state mix (names or codes → weights, normalised; unlisted
    states get none): the two drift knobs of the feed simulator.  ``junk_share`` and
    ``malformed_share`` default to the calibrated shares; 0 gives clean rows.
    """
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a whole number >= 0, got {n!r}")
    if not math.isfinite(price_shift) or price_shift <= -1:
        raise ValueError(f"price_shift must be > -1 (a price can't vanish), got {price_shift}")
    for name, share in (("junk_share", junk_share), ("malformed_share", malformed_share)):
        if not 0 <= share <= 0.5:
            raise ValueError(f"{name} must be between 0 and 0.5, got {share}")
    probs = _state_probabilities(state_weights)
    rng = np.random.default_rng(seed)
    w = world()
    n = int(n)

    pairs = round(n * REPEAT_RECORD_SHARE / 2) if n >= 20 else 0
    dups = round(n * EXACT_DUPLICATE_SHARE)
    base_n = n - pairs - dups
    props, twin_weight = _properties(rng, w, probs, base_n, pairs, n, price_shift)

    # the second record of each repeated property: the same house, now sold.  Which for_sale
    # listings sold follows each state's sold share (states with many sold records have
    # many pairs); the sold record's prev_sold_date is that sale, and the for_sale record's
    # is the sale before it (or missing, as for any for_sale listing)
    on_sale = np.flatnonzero(props["status"] == 0)
    race = rng.exponential(size=len(on_sale)) / twin_weight[on_sale]
    twin = np.sort(on_sale[np.argpartition(race, pairs - 1)[:pairs]]) if pairs else on_sale[:0]
    second = {name: values[twin] for name, values in props.items()}
    second["status"] = np.ones(pairs, dtype=np.int64)
    second["price"] = _round_prices(
        rng, second["price"] * np.exp(rng.normal(*SALE_DISCOUNT, pairs))
    )
    sale = _date_ordinals(rng, pairs, "sold")
    second["prev_sold_date"] = sale
    earlier = _date_ordinals(rng, pairs, "for_sale", before=sale)
    gone = rng.random(pairs) < calibration()["missing"]["for_sale"]["prev_sold_date"]
    props["prev_sold_date"][twin] = np.where(gone, 0, earlier)

    columns = {name: np.concatenate((props[name], second[name])) for name in props}
    records = base_n + pairs
    order = np.concatenate((np.arange(records), rng.integers(0, records, dups))) if dups else None
    shuffle = rng.permutation(n)
    frame = _as_frame(w, columns, shuffle if order is None else order[shuffle])
    _add_junk(rng, frame, junk_share)
    _add_malformed(rng, frame, malformed_share)
    return frame


def _properties(
    rng: np.random.Generator,
    w: World,
    state_probs: np.ndarray,
    n: int,
    pairs: int,
    total: int,
    price_shift: float,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``n`` distinct listings (coded columns), and each one's weight for becoming a
    for_sale → sold pair."""
    cal, st = calibration(), state_table()

    # status: each pair adds a sold record later, so a state's distinct listings hold
    # fewer sold ones (rho = share of sold records that are the second of a pair)
    sold = st.status[:, 1]
    rho = min(pairs / max(total * float(state_probs @ sold), 1e-9), 0.9) if pairs else 0.0
    keep = 1.0 - rho * sold  # distinct listings per record, by state
    base = state_probs * keep
    state = rng.choice(len(st.names), size=n, p=base / base.sum())
    zip_index = _pick_zips(rng, w, state)
    status_p = st.status / keep[:, None]
    status_p[:, 1] *= 1.0 - rho
    p = status_p[state]
    u = rng.random(n)
    code = (u >= p[:, 0]).astype(np.int64) + (u >= p[:, 0] + p[:, 1])
    if pairs:
        short = pairs - int((code == 0).sum())
        if short > 0:  # tiny n: make room for the pairs
            code[rng.choice(np.flatnonzero(code != 0), short, replace=False)] = 0
    building = code == 2
    land_share = w.zip_land_share[:, zip_index]  # for_sale, sold
    land = ~building & (rng.random(n) < land_share[np.minimum(code, 1), np.arange(n)])
    # the for_sale listings that will sell look like sold ones: land sells less often
    as_sold = np.where(
        land,
        land_share[1] / np.maximum(land_share[0], 1e-9),
        (1 - land_share[1]) / np.maximum(1 - land_share[0], 1e-9),
    )
    twin_weight = np.maximum(sold[state] / st.status[state, 0] * as_sold, 1e-9)

    # the typical house of the place (state, urbanity), a little bigger when for sale;
    # where houses are bigger they also have more rooms: the room latents move with size
    quant = cal["quantiles"]
    on_sale, sold_share = st.status[:, 0], st.status[:, 1]
    sold_size = cal["status_size"]["sold"]
    ref_size = (
        st.log_size[state]
        + w.zip_size[zip_index]
        + np.where(code == 1, sold_size, 0.0)
        - (sold_share * sold_size / (on_sale + sold_share))[state]
    )
    shift = (st.log_size[state] - float(st.weight @ st.log_size)) / SIZE_LOG_SD
    within = rng.standard_normal((n, 4)) @ np.linalg.cholesky(FEATURE_CORRELATION).T
    z_size, z_lot = within[:, 0], within[:, 3]  # the place's typical sizes are set apart
    z_bed = within[:, 1] + shift * FEATURE_CORRELATION[0, 1]
    z_bath = within[:, 2] + shift * FEATURE_CORRELATION[0, 2]
    size = np.exp(ref_size) * _from_quantiles(z_size, quant["relative_size"])
    size[building] = _from_quantiles(z_size[building], quant["ready_to_build_size"])
    size = np.round(size)
    bed = _from_counts(z_bed, cal["counts"]["bed"])
    bed[building] = _from_counts(z_bed[building], cal["counts"]["ready_to_build_bed"])
    bath = _from_counts(z_bath, cal["counts"]["bath"])
    lot = np.where(
        land,
        np.exp(w.zip_land_lot[zip_index]) * _from_quantiles(z_lot, quant["land_lot"]),
        np.exp(w.zip_house_lot[zip_index]) * _from_quantiles(z_lot, quant["house_lot"]),
    )
    lot = np.maximum(np.where(lot < 10, np.round(lot, 2), np.round(lot, 1)), 0.01)

    # prices: the place ($/sqft of the state and the ZIP), then the house.  Status effects
    # are centred on each state's for_sale/sold mix, whose median the calibration gives.
    effect = cal["status_price"]
    mixed = sold_share * effect["sold"] / (on_sale + sold_share)
    land_of = cal["land_share"]  # land's own mix leans to for_sale
    land_sold = sold_share * land_of["sold"]
    mixed_land = land_sold * effect["sold"] / (on_sale * land_of["for_sale"] + land_sold)
    status_effect = np.array([effect[s] for s in STATUSES])[code] - np.where(
        land, mixed_land[state], mixed[state]
    )
    house_lift, land_lift = _median_lifts()
    house_price = (
        st.log_ppsf[state]
        + w.zip_location[zip_index]
        + ref_size
        + _house_terms(within, np.log(size) - ref_size, _house_noise(rng, n))
        - house_lift
    )
    land_price = (
        st.log_land_price[state]
        + w.zip_location[zip_index]
        - w.state_land_offset[state]  # land lies in other places than houses
        + _land_terms(z_lot, _land_noise(rng, n))
        - land_lift
    )
    log_price = np.where(land, land_price, house_price) + status_effect
    price = _round_prices(rng, np.exp(log_price) * (1.0 + price_shift))

    # missing values: land has no bed/bath/size, ready_to_build no bath and no lot, and
    # houses miss some in each status's own pattern (calibration: house_missing_patterns)
    no_bed, no_bath, no_size = land.copy(), land | building, land.copy()
    for k, name in enumerate(("for_sale", "sold")):
        rows = np.flatnonzero((code == k) & ~land)
        table = cal["house_missing_patterns"][name]
        patterns = sorted(table)
        cuts = np.cumsum([table[c] for c in patterns])
        drawn = np.minimum(np.searchsorted(cuts / cuts[-1], rng.random(len(rows))), len(cuts) - 1)
        flags = np.array([[c == "1" for c in pattern] for pattern in patterns])[drawn]
        no_bed[rows] |= flags[:, 0]
        no_bath[rows] |= flags[:, 1]
        no_size[rows] |= flags[:, 2]
    lot_rate = np.array([[cal["lot_missing"][s]["house"], cal["lot_missing"][s]["land"]]
                         for s in STATUSES])  # fmt: skip
    lot_gap = rng.random(n) < lot_rate[code, land.astype(np.int64)]
    missing = cal["missing"]
    price_gap = rng.random(n) < np.array([missing[s]["price"] for s in STATUSES])[code]
    price[price_gap] = np.nan

    psd_gap = rng.random(n) < np.array([missing[s]["prev_sold_date"] for s in STATUSES])[code]
    ordinal = _date_ordinals(rng, n, "for_sale")
    sold_rows = code == 1
    ordinal[sold_rows] = _date_ordinals(rng, int(sold_rows.sum()), "sold")
    ordinal[psd_gap] = 0

    other = cal["other_missing"]
    broker_low, _ = cal["ids"]["brokered_by"]
    broker = (
        broker_low
        + state * BROKER_SPAN
        + np.floor(w.broker_pool[state] * rng.random(n) ** 2.5).astype(np.int64)
    ).astype(np.float64)
    broker[rng.random(n) < other["brokered_by"]] = np.nan
    street_low, street_high = cal["ids"]["street"]
    street = rng.integers(street_low, street_high, size=n, endpoint=True).astype(np.float64)
    street[rng.random(n) < other["street"]] = np.nan
    city = np.where(rng.random(n) < other["city"], -1, zip_index)
    zip_code = np.where(rng.random(n) < other["zip_code"], -1, zip_index)

    # text fields stay codes until the rows are final (see _as_frame)
    columns = {
        "brokered_by": broker,
        "status": code,
        "price": price,
        "bed": np.where(no_bed, np.nan, bed),
        "bath": np.where(no_bath, np.nan, bath),
        "acre_lot": np.where(lot_gap | building, np.nan, lot),
        "street": street,
        "city": city,
        "state": state,
        "zip_code": zip_code,
        "house_size": np.where(no_size, np.nan, size),
        "prev_sold_date": ordinal,
    }
    return columns, twin_weight


@lru_cache(maxsize=4)
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


def _as_frame(w: World, columns: dict[str, np.ndarray], order: np.ndarray) -> pd.DataFrame:
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


def _add_junk(rng: np.random.Generator, frame: pd.DataFrame, share: float) -> None:
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


def _add_malformed(rng: np.random.Generator, frame: pd.DataFrame, share: float) -> None:
    """Values a validator must reject, one bad field per row."""
    rows = _pick(rng, len(frame), share)
    kinds = rng.integers(0, len(_MALFORMED), len(rows))
    for kind, row in zip(kinds, rows, strict=True):
        column, spoil = _MALFORMED[int(kind)]
        at = frame.columns.get_loc(column)
        frame.iat[row, at] = spoil(frame.iat[row, at])
