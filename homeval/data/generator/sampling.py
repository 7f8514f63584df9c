"""Drawing values: calibrated quantiles and counts through normal scores, dates, the
round prices people ask, ZIPs by their weight."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from statistics import NormalDist

import numpy as np

from homeval.data.generator.parameters import (
    calibration,
)
from homeval.data.generator.world import (
    World,
)

_NORMAL = NormalDist()


# --- sampling helpers ---------------------------------------------------------------------


def _knots(quantiles: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Quantile table → (normal scores, log values) for piecewise log-linear interpolation."""
    z = np.array([_NORMAL.inv_cdf(p) for p, _ in quantiles])
    return z, np.log([v for _, v in quantiles])


def from_quantiles(z: np.ndarray, quantiles: list[list[float]]) -> np.ndarray:
    knots_z, knots_log = _knots(quantiles)
    return np.exp(np.interp(z, knots_z, knots_log))


def from_counts(z: np.ndarray, counts: Mapping[str, int]) -> np.ndarray:
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


def date_ordinals(
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


def round_prices(rng: np.random.Generator, price: np.ndarray) -> np.ndarray:
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


def pick_zips(rng: np.random.Generator, w: World, state: np.ndarray) -> np.ndarray:
    """A ZIP of each row's state, with the calibrated ZIP weights (urbanity)."""
    cum = w.zip_cumweight
    first = w.state_zip_start[state]
    last = w.state_zip_end[state] - 1
    below = np.where(first > 0, cum[np.maximum(first - 1, 0)], 0.0)
    target = below + rng.random(len(state)) * (cum[last] - below)
    return np.clip(np.searchsorted(cum, target, side="right"), first, last)
