"""Synthetic Realtor listings that look like the real feed, for tests, demos and drift.

The real file is 2.2M rows we may not redistribute, so the feed simulator and the tests
need listings made up on the spot that behave like real ones: the same missing values
(land listings with no bed/bath/size), the same skewed quantiles, a status mix with its
structural ``prev_sold_date`` gaps, properties listed twice (for sale, then sold), a
state → city → ZIP hierarchy whose location moves prices, and a little junk that the
cleaning step must catch.  Every number here comes from ``shared/data/realtor/STATS.md``
(section named in the comment); the geography lives in ``homeval/data/*.csv``.

Features are drawn with a Gaussian copula: correlated standard normals pushed through
each field's quantile function (piecewise log-linear between the STATS quantiles), so the
marginals match the real ones and the correlations come from STATS section 8.  Prices then
follow a hedonic model (log price rises with log size, baths, lot and location), so a
model trained on generated rows learns something real.

A generated frame carries values as the feed would send them: floats (NaN when missing)
for the numeric and id fields, strings or None for the rest, dates as ISO strings.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from statistics import NormalDist
from typing import Final

import numpy as np
import pandas as pd

from homeval.schema import LISTING_FIELDS, STATE_CODES, normalise_state

# --- calibration (STATS.md; "A" = the 12-column file, the guide for missingness) ---------

STATUS_SHARES: Final = {"for_sale": 0.6240, "sold": 0.3647, "ready_to_build": 0.0113}
"""Section 9: the whole Kaggle file (not the for_sale-only sample)."""

PREV_SOLD_MISSING: Final = {"for_sale": 0.5104, "sold": 0.0, "ready_to_build": 1.0}
"""Section 9: 32.98% missing overall, 0% for sold, 100% for ready_to_build; for_sale solves
0.624 p + 0.0113 = 0.3298, so p = 0.51 ("roughly half")."""

REPEAT_RECORD_SHARE: Final = 0.104
"""Section 9: records of a property listed more than once (a for_sale + sold pair)."""

LAND_SHARE: Final = 0.234
"""Section 8b: bed, bath and house_size all missing (land/lot listings)."""

# Other missing patterns of non-land rows, as shares of all rows (section 1 and 8b, A):
# bed 25.1%, bath 24.8%, house_size 25.1%, P(bath|bed missing) 98.3%.
PARTIAL_MISSING: Final = {
    "bed_bath": 0.0127,  # bed+bath missing, size present
    "bed": 0.0043,
    "size": 0.0170,
    "bath": 0.0013,
}
LOT_MISSING: Final = {"land": 0.05, "house": 0.16}  # overall 13.5% (section 1, A)
STREET_MISSING: Final = 0.007
CITY_MISSING: Final = 0.002
ZIP_MISSING: Final = 0.003

# Quantiles (probability, value) of houses that have the value (section 2, A dedup), with
# tail knots set where the real extremes stop being plausible (junk is added separately).
SIZE_QUANTILES: Final = (
    (0.0005, 300.0), (0.01, 597.0), (0.05, 800.0), (0.25, 1200.0), (0.5, 1706.0),
    (0.75, 2480.0), (0.95, 4500.0), (0.99, 7600.0), (0.9995, 16000.0),
)  # fmt: skip
"""Above the median the knots sit below section 2's (2,598 / 5,000 / 9,000): states with
bigger houses (size_factor) widen the upper tail back to the real one."""
HOUSE_LOT_QUANTILES: Final = (
    (0.0005, 0.01), (0.01, 0.03), (0.05, 0.06), (0.25, 0.15), (0.5, 0.34), (0.75, 1.0),
    (0.95, 11.0), (0.99, 50.0), (0.9995, 400.0),
)  # fmt: skip
"""Lots under houses: median 0.36 acre (section 8b); with land lots they give section 2."""
LAND_LOT_QUANTILES: Final = (
    (0.0005, 0.02), (0.01, 0.06), (0.05, 0.14), (0.25, 0.6), (0.5, 2.0), (0.75, 7.0),
    (0.95, 100.0), (0.99, 350.0), (0.9995, 3000.0),
)  # fmt: skip
"""Land listings: median lot 2.00 acres (section 8b)."""

BED_COUNTS: Final = {1: 204, 2: 1036, 3: 2899, 4: 1576, 5: 459, 6: 332, 7: 128, 8: 96,
                     9: 60, 10: 35, 12: 23}  # fmt: skip
BATH_COUNTS: Final = {1: 1261, 2: 2759, 3: 1715, 4: 610, 5: 256, 6: 131, 7: 60, 8: 37,
                      9: 25, 10: 12, 12: 10}  # fmt: skip
"""Section 8b value counts; the tail above 8 shares out the remaining rows."""

FEATURE_CORRELATION: Final = np.array(
    [  # latent normals of log(house_size), bed, bath, log(acre_lot)
        [1.00, 0.62, 0.75, 0.36],
        [0.62, 1.00, 0.72, 0.03],
        [0.75, 0.72, 1.00, 0.27],
        [0.36, 0.03, 0.27, 1.00],
    ]
)
"""Section 8 matrix (A, complete cases), raised a little where bed/bath are integers:
rounding to counts weakens a latent correlation."""

SIZE_LOG_SD: Final = 0.55
"""Spread of log(house_size) around its median (section 2, A: IQR 1,200-2,598)."""

# Hedonic price model (log scale), tuned so generated correlations match section 8.
SIZE_ELASTICITY: Final = 0.60
BATH_EFFECT: Final = 0.33  # per latent sd of bath, size held fixed
BED_EFFECT: Final = -0.33  # more bedrooms in the same size: smaller rooms
LOT_EFFECT: Final = 0.20  # per latent sd of log(acre_lot)
HOUSE_NOISE_SD: Final = 0.15
MANSION_FROM: Final = 1.4  # latent sd of size where the premium starts (top 8%)
MANSION_PREMIUM: Final = 0.8  # log price per latent sd above that
PRIME_ZIP_SHARE: Final = 0.03
PRIME_ZIP_PREMIUM: Final = (1.0, 0.3)
LAND_PRICE_RATIO: Final = 0.45  # median land 140,000 vs houses 294,900 (section 8b)
LAND_LOT_ELASTICITY: Final = 0.35
LAND_NOISE_SD: Final = 0.50
CITY_SPREAD: Final = 0.8  # scales the city price indexes of the geography table
ZIP_EFFECT_SD: Final = 0.10
STATUS_PRICE: Final = {"for_sale": 0.0, "sold": -0.04, "ready_to_build": 0.10}
SALE_DISCOUNT: Final = (-0.03, 0.05)  # sold price vs its own for_sale record (mean, sd)

PRICE_ENDINGS: Final = (0.678, 0.254)
"""Section 8b: 67.8% of prices end in 000, 25.4% in 900; the rest end in 50s."""

# prev_sold_date: min, share before 2000 (14.1%), median, max (section 8b).
DATE_KNOTS: Final = (
    (0.0, date(1966, 3, 9)),
    (0.141, date(2000, 1, 1)),
    (0.5, date(2011, 10, 22)),
    (1.0, date(2022, 3, 23)),
)
BROKER_RANGE: Final = (84, 110_088)
STREET_RANGE: Final = (1_382, 2_001_321)

JUNK_SHARE: Final = 0.006
"""Rows with absurd but well-formed values (price $1, 300M, 1.4M sqft ...): section 2's
extremes show they exist; cleaning, not validation, must catch them."""
MALFORMED_SHARE: Final = 0.002
"""Rows that schema validation rejects (negative price, unknown state, bad ZIP or date)."""
EXACT_DUPLICATE_SHARE: Final = 0.002
"""Rows sent twice verbatim (the old Kaggle version repeats rows; feeds resend)."""

_NORMAL = NormalDist()

URBAN_RADIUS_KM: Final = 10.0
"""Urbanity of a place: active STANDARD ZIPs (itself included) within this many km."""
EARTH_RADIUS_KM: Final = 6371.0
EXCLUDED_CITY_SUFFIXES: Final = (" AFB",)
"""Air Force bases have STANDARD ZIPs but no houses for sale."""


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
    return Places(
        zips=np.array(zips, dtype=object),
        state=np.array(state, dtype=np.int64),
        city=np.array(city, dtype=object),
        lat=lat_a,
        lon=lon_a,
        neighbours=count_within(lat_a, lon_a, lat_a, lon_a, URBAN_RADIUS_KM),
    )


# --- the world: states, cities, ZIPs (fixed, independent of the seed) ---------------------


@dataclass(frozen=True)
class World:
    """The geography table, as arrays ready for vectorised sampling."""

    states: tuple[str, ...]
    state_weight: np.ndarray  # default listing mix
    state_ppsf: np.ndarray  # median $/sqft
    state_size: np.ndarray  # median-size factor
    city_state: np.ndarray  # index into states
    city_name: np.ndarray  # object array
    city_weight: np.ndarray  # within-state probability
    city_effect: np.ndarray  # log price index, weighted mean 0 within each state
    city_zip_start: np.ndarray
    city_zip_count: np.ndarray
    zips: np.ndarray  # object array of 5-digit strings
    zip_effect: np.ndarray
    zip_prime: np.ndarray  # premium of prime ZIPs, 0 elsewhere
    broker_pool: np.ndarray  # brokers per state

    def state_cities(self, state: int) -> np.ndarray:
        return np.flatnonzero(self.city_state == state)


def _read_table(name: str) -> list[dict[str, str]]:
    with resources.files("homeval.data").joinpath(name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@lru_cache(maxsize=1)
def world() -> World:
    """Load the geography once; ZIP effects come from a fixed seed so the world is stable."""
    state_rows = _read_table("states.csv")
    states = tuple(r["state"] for r in state_rows)
    index = {s: i for i, s in enumerate(states)}
    weight = np.array([float(r["weight"]) for r in state_rows])
    city_rows = _read_table("cities.csv")
    city_state = np.array([index[r["state"]] for r in city_rows])
    city_pop = np.array([float(r["weight"]) for r in city_rows])
    city_index = np.log([float(r["price_index"]) for r in city_rows]) * CITY_SPREAD
    city_weight = np.empty(len(city_rows))
    city_effect = np.empty(len(city_rows))
    for s in range(len(states)):
        members = city_state == s
        share = city_pop[members] / city_pop[members].sum()
        city_weight[members] = share
        city_effect[members] = city_index[members] - float(share @ city_index[members])

    # Each ZIP prefix's two-digit space is split among the cities that share it.
    zips: list[str] = []
    starts = np.empty(len(city_rows), dtype=np.int64)
    counts = np.empty(len(city_rows), dtype=np.int64)
    next_free: dict[tuple[int, str], int] = {}
    for i, row in enumerate(city_rows):
        count = int(np.clip(round(math.sqrt(city_pop[i]) / 3), 2, 12))
        key = (int(city_state[i]), row["zip3"])
        first = next_free.get(key, 1)
        next_free[key] = first + count
        if first + count > 100:
            raise ValueError(f"ZIP prefix {row['zip3']} has too many cities")
        starts[i], counts[i] = len(zips), count
        zips.extend(f"{row['zip3']}{first + k:02d}" for k in range(count))
    fixed = np.random.default_rng(20_240_101)
    share = weight / weight.sum()
    return World(
        states=states,
        state_weight=share,
        state_ppsf=np.array([float(r["ppsf"]) for r in state_rows]),
        state_size=np.array([float(r["size_factor"]) for r in state_rows]),
        city_state=city_state,
        city_name=np.array([r["city"] for r in city_rows], dtype=object),
        city_weight=city_weight,
        city_effect=city_effect,
        city_zip_start=starts,
        city_zip_count=counts,
        zips=np.array(zips, dtype=object),
        zip_effect=fixed.normal(0.0, ZIP_EFFECT_SD, len(zips)),
        zip_prime=np.where(
            fixed.random(len(zips)) < PRIME_ZIP_SHARE,
            fixed.normal(*PRIME_ZIP_PREMIUM, len(zips)),
            0.0,
        ),
        broker_pool=np.clip(np.round(60 + 1900 * np.sqrt(share)), 60, 1990).astype(np.int64),
    )


# --- state mixes (drift) ------------------------------------------------------------------


def default_state_mix() -> dict[str, float]:
    """The usual share of listings per state (roughly by population)."""
    w = world()
    return {s: float(p) for s, p in zip(w.states, w.state_weight, strict=True)}


def _resolve_state(key: str) -> str:
    name = normalise_state(key)
    if name is None or name not in world().states:
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
    w = world()
    if state_weights is None:
        return w.state_weight
    probs = np.zeros(len(w.states))
    for key, value in state_weights.items():
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise ValueError(f"weight of state {key!r} must be a number >= 0, got {value!r}")
        probs[w.states.index(_resolve_state(key))] += float(value)
    if probs.sum() <= 0:
        raise ValueError("state_weights gives no state a positive weight")
    return probs / probs.sum()


# --- sampling helpers ---------------------------------------------------------------------


def _knots(quantiles: tuple[tuple[float, float], ...]) -> tuple[np.ndarray, np.ndarray]:
    """Quantile table → (normal scores, log values) for piecewise log-linear interpolation."""
    z = np.array([_NORMAL.inv_cdf(p) for p, _ in quantiles])
    return z, np.log([v for _, v in quantiles])


def _from_quantiles(z: np.ndarray, quantiles: tuple[tuple[float, float], ...]) -> np.ndarray:
    knots_z, knots_log = _knots(quantiles)
    return np.exp(np.interp(z, knots_z, knots_log))


def _from_counts(z: np.ndarray, counts: Mapping[int, int]) -> np.ndarray:
    values = np.array(sorted(counts), dtype=np.float64)
    probs = np.array([counts[int(v)] for v in values], dtype=np.float64)
    cuts = np.cumsum(probs / probs.sum())[:-1]
    thresholds = np.array([_NORMAL.inv_cdf(float(c)) for c in cuts])
    return values[np.searchsorted(thresholds, z)]


def _dates(rng: np.random.Generator, n: int) -> np.ndarray:
    """ISO date strings drawn from the piecewise-uniform fit of section 8b."""
    probs = np.array([p for p, _ in DATE_KNOTS])
    days = np.array([d.toordinal() for _, d in DATE_KNOTS], dtype=np.float64)
    ordinal = np.interp(rng.random(n), probs, days).astype(np.int64)
    epoch = date(1970, 1, 1).toordinal()
    as_dates = (ordinal - epoch).astype("datetime64[D]")
    return np.datetime_as_string(as_dates, unit="D").astype(object)


def _round_prices(rng: np.random.Generator, price: np.ndarray) -> np.ndarray:
    u = rng.random(len(price))
    thousands = np.maximum(np.round(price / 1000.0), 1.0) * 1000.0
    return np.where(
        u < PRICE_ENDINGS[0],
        thousands,
        np.where(
            u < PRICE_ENDINGS[0] + PRICE_ENDINGS[1],
            thousands - 100.0,
            np.maximum(np.round(price / 50.0) * 50.0, 50.0),
        ),
    )


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
    props = _properties(rng, w, probs, base_n, pairs, n, price_shift)

    # the second record of each repeated property: the same house, now sold
    twin = rng.choice(np.flatnonzero(props["status"] == "for_sale"), pairs, replace=False)
    second = props.iloc[twin].copy()
    second["status"] = "sold"
    second["price"] = _round_prices(
        rng, second["price"].to_numpy() * np.exp(rng.normal(*SALE_DISCOUNT, pairs))
    )
    sold_date = _dates(rng, pairs)
    second["prev_sold_date"] = sold_date
    keep = rng.random(pairs) >= PREV_SOLD_MISSING["for_sale"]
    kept = sold_date.copy()
    kept[~keep] = None
    props.loc[props.index[twin], "prev_sold_date"] = kept

    frame = pd.concat([props, second], ignore_index=True)
    if dups:
        frame = pd.concat([frame, frame.iloc[rng.integers(0, len(frame), dups)]])
    frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    _add_junk(rng, frame, junk_share)
    _add_malformed(rng, frame, malformed_share)
    return frame.loc[:, list(LISTING_FIELDS)]


def _properties(
    rng: np.random.Generator,
    w: World,
    state_probs: np.ndarray,
    n: int,
    pairs: int,
    total: int,
    price_shift: float,
) -> pd.DataFrame:
    """``n`` distinct listings; the first of each repeat pair must be among the for_sale."""
    state = rng.choice(len(w.states), size=n, p=state_probs)
    city = np.empty(n, dtype=np.int64)
    for s in np.unique(state):
        rows = np.flatnonzero(state == s)
        members = w.state_cities(int(s))
        city[rows] = rng.choice(members, size=len(rows), p=w.city_weight[members])
    zip_index = w.city_zip_start[city] + (rng.random(n) * w.city_zip_count[city]).astype(int)

    # status: each pair adds a sold record later, so distinct listings hold fewer sold ones
    p_sale = min(STATUS_SHARES["for_sale"] * total / max(n, 1), 1.0)
    p_build = min(STATUS_SHARES["ready_to_build"] * total / max(n, 1), 1.0 - p_sale)
    p_sold = max(1.0 - p_sale - p_build, 0.0)
    p = np.array([p_sale, p_sold, p_build])
    status = np.array(list(STATUS_SHARES), dtype=object)[rng.choice(3, n, p=p / p.sum())]
    if pairs:
        on_sale = np.flatnonzero(status == "for_sale")
        if len(on_sale) < pairs:  # tiny n: make room for the pairs
            extra = rng.choice(np.flatnonzero(status != "for_sale"), pairs - len(on_sale), False)
            status[extra] = "for_sale"

    # where houses are bigger (state size factor) they also have more rooms: shift all
    # latent features together, by their correlation with size
    shift = np.log(w.state_size[state]) / SIZE_LOG_SD
    within = rng.standard_normal((n, 4)) @ np.linalg.cholesky(FEATURE_CORRELATION).T
    z_size, z_bed, z_bath, z_lot = (within + shift[:, None] * FEATURE_CORRELATION[0]).T
    land = rng.random(n) < LAND_SHARE
    size = np.round(_from_quantiles(z_size, SIZE_QUANTILES))
    bed = _from_counts(z_bed, BED_COUNTS)
    bath = _from_counts(z_bath, BATH_COUNTS)
    lot = np.where(
        land,
        _from_quantiles(z_lot, LAND_LOT_QUANTILES),
        _from_quantiles(z_lot, HOUSE_LOT_QUANTILES),
    )
    lot = np.maximum(np.where(lot < 10, np.round(lot, 2), np.round(lot, 1)), 0.01)

    # the long upper tail of section 2 (99% = 22x the median): mansions cost more than
    # their size says, and a few ZIPs (waterfront, resorts) are prime
    luxury = MANSION_PREMIUM * np.maximum(within[:, 0] - MANSION_FROM, 0.0) + w.zip_prime[zip_index]
    location = np.log(w.state_ppsf[state]) + w.city_effect[city] + w.zip_effect[zip_index]
    ref_size = math.log(SIZE_QUANTILES[4][1]) + np.log(w.state_size[state])  # typical house
    house_price = (
        location
        + ref_size
        + SIZE_ELASTICITY * (np.log(size) - ref_size)
        + BATH_EFFECT * within[:, 2]  # rooms and lot as usual *for that state*
        + BED_EFFECT * within[:, 1]
        + LOT_EFFECT * within[:, 3]
        + rng.normal(0.0, HOUSE_NOISE_SD, n)
        + luxury
    )
    land_price = (
        location
        + ref_size
        + math.log(LAND_PRICE_RATIO)
        + LAND_LOT_ELASTICITY * (np.log(lot) - math.log(2.0))
        + rng.normal(0.0, LAND_NOISE_SD, n)
        + luxury
    )
    status_effect = np.select([status == s for s in STATUS_PRICE], list(STATUS_PRICE.values()), 0.0)
    log_price = np.where(land, land_price, house_price) + status_effect
    price = _round_prices(rng, np.exp(log_price) * (1.0 + price_shift))

    # missing values: land has no bed/bath/size; a few houses miss some (section 1, 8b)
    pattern = rng.random(n)
    edges = np.cumsum([v / (1 - LAND_SHARE) for v in PARTIAL_MISSING.values()])
    no_bed = land | (pattern < edges[1])
    no_bath = land | (pattern < edges[0]) | ((pattern >= edges[2]) & (pattern < edges[3]))
    no_size = land | ((pattern >= edges[1]) & (pattern < edges[2]))
    lot_gap = rng.random(n) < np.where(land, LOT_MISSING["land"], LOT_MISSING["house"])

    missing_psd = rng.random(n) < np.select(
        [status == s for s in PREV_SOLD_MISSING], list(PREV_SOLD_MISSING.values()), 1.0
    )
    dates = _dates(rng, n)
    dates[missing_psd] = None

    broker = (
        BROKER_RANGE[0]
        + state * 2000
        + np.floor(w.broker_pool[state] * rng.random(n) ** 2.5).astype(np.int64)
    ).astype(np.float64)
    street = rng.integers(STREET_RANGE[0], STREET_RANGE[1] + 1, n).astype(np.float64)
    street[rng.random(n) < STREET_MISSING] = np.nan
    city_name = w.city_name[city].copy()
    city_name[rng.random(n) < CITY_MISSING] = None
    zip_code = w.zips[zip_index].copy()
    zip_code[rng.random(n) < ZIP_MISSING] = None

    return pd.DataFrame(
        {
            "brokered_by": broker,
            "status": status,
            "price": price,
            "bed": np.where(no_bed, np.nan, bed),
            "bath": np.where(no_bath, np.nan, bath),
            "acre_lot": np.where(lot_gap, np.nan, lot),
            "street": street,
            "city": city_name,
            "state": np.array(w.states, dtype=object)[state],
            "zip_code": zip_code,
            "house_size": np.where(no_size, np.nan, size),
            "prev_sold_date": dates,
        }
    )


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
