"""The hedonic price model: log price of a house or a plot relative to its place's typical
one, and how far its skewed parts move the medians."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from homeval.data.generator.parameters import (
    BATH_EFFECT,
    BED_EFFECT,
    FEATURE_CORRELATION,
    HOUSE_NOISE_SCALE,
    LAND_LOT_ELASTICITY,
    LAND_NOISE_SCALE,
    LOT_EFFECT,
    MANSION_FROM,
    MANSION_PREMIUM,
    NOISE_CLIP,
    NOISE_DF,
    SIZE_ELASTICITY,
    WORLD_SEED,
    calibration,
)
from homeval.data.generator.sampling import (
    from_quantiles,
)

# --- the hedonic model ---------------------------------------------------------------------


def house_terms(within: np.ndarray, log_rel_size: np.ndarray, noise: np.ndarray) -> np.ndarray:
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


def land_terms(z_lot: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Log price of land relative to the place's typical land: its lot, noise."""
    lots = calibration()["quantiles"]["land_lot"]
    typical = from_quantiles(np.zeros(1), lots)[0]
    return LAND_LOT_ELASTICITY * np.log(from_quantiles(z_lot, lots) / typical) + noise


def house_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.clip(HOUSE_NOISE_SCALE * rng.standard_t(NOISE_DF, n), -NOISE_CLIP, NOISE_CLIP)


def land_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.clip(LAND_NOISE_SCALE * rng.standard_t(NOISE_DF, n), -NOISE_CLIP, NOISE_CLIP)


@lru_cache(maxsize=1)
def median_lifts() -> tuple[float, float]:
    """How far the skewed parts (big houses' lower $/sqft, mansions, big lots) move the
    median $/sqft of houses and the median land price off their place's level.  Prices
    take them off, so a state's medians are the calibrated ones.  Measured once on fixed
    draws, with a location spread like the world's."""
    rng = np.random.default_rng(WORLD_SEED + 1)
    m = 200_000
    within = rng.standard_normal((m, 4)) @ np.linalg.cholesky(FEATURE_CORRELATION).T
    log_rel = np.log(from_quantiles(within[:, 0], calibration()["quantiles"]["relative_size"]))
    spatial = calibration()["spatial"]
    spread = rng.normal(0.0, math.hypot(spatial["zip_sd"], *spatial["field_sd"]), m)
    house = house_terms(within, log_rel, house_noise(rng, m)) - log_rel + spread
    land = land_terms(within[:, 3], land_noise(rng, m)) + spread
    return float(np.median(house)), float(np.median(land))
