"""The generator's fixed numbers: the hand-tuned hedonic model and shares the calibration
file does not hold, and the calibration file itself (``homeval/data/calibration.json``)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any, Final

import numpy as np

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
