"""The conformal interval: as wide as each kind of listing needs, and no wider."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from homeval.features import land_mask
from homeval.modeling import PriceInterval, conformal_interval

Market = tuple[np.ndarray, np.ndarray, np.ndarray]


def _market(n: int, seed: int, land_share: float = 0.2) -> Market:
    """Prices a model misses by ~10 % on houses and ~60 % on land (log-normal errors)."""
    rng = np.random.default_rng(seed)
    land = rng.random(n) < land_share
    predicted = np.exp(rng.normal(12.5, 0.8, n))
    error = np.where(land, rng.normal(0.0, 0.6, n), rng.normal(0.0, 0.1, n))
    return predicted * np.exp(error), predicted, land


def _covered(interval: PriceInterval, true: np.ndarray, pred: np.ndarray, land: object) -> float:
    low, high = interval.bounds(pred, land)
    return float(np.mean((true >= low) & (true <= high)))


def test_houses_and_land_each_get_the_coverage_asked_for() -> None:
    true, pred, land = _market(4_000, seed=1)
    interval = conformal_interval(true, pred, 0.9, land=land)
    true, pred, land = _market(20_000, seed=2)
    assert interval.house_log_halfwidth is not None
    assert interval.land_log_halfwidth is not None
    assert interval.house_log_halfwidth < interval.log_halfwidth < interval.land_log_halfwidth
    for segment in (~land, land):
        covered = _covered(interval, true[segment], pred[segment], land[segment])
        assert covered == pytest.approx(0.9, abs=0.02)


def test_one_width_for_all_fails_land_and_overserves_houses() -> None:
    true, pred, land = _market(4_000, seed=1)
    overall = conformal_interval(true, pred, 0.9)  # no segments: the old behaviour
    true, pred, land = _market(20_000, seed=2)
    assert _covered(overall, true[land], pred[land], None) < 0.8
    assert _covered(overall, true[~land], pred[~land], None) > 0.97


def test_a_segment_too_small_to_calibrate_uses_the_overall_width() -> None:
    true, pred, land = _market(1_000, seed=3, land_share=0.05)  # ~50 land rows
    interval = conformal_interval(true, pred, 0.9, land=land)
    assert interval.land_log_halfwidth is None
    assert interval.house_log_halfwidth is not None
    widths = interval.halfwidths(np.array([True, False]))
    assert widths.tolist() == [interval.log_halfwidth, interval.house_log_halfwidth]


def test_stored_with_the_model_and_read_back_old_and_new() -> None:
    true, pred, land = _market(2_000, seed=4)
    interval = conformal_interval(true, pred, 0.8, land=land)
    assert PriceInterval.from_dict(interval.to_dict()) == interval
    old = PriceInterval.from_dict({"coverage": 0.9, "log_halfwidth": 0.5})  # before segments
    low, high = old.bounds(np.array([100.0, 100.0]), np.array([True, False]))
    np.testing.assert_allclose(high, 100.0 * np.exp(0.5))
    np.testing.assert_allclose(low, 100.0 / np.exp(0.5))


def test_land_flags_must_match_the_prices() -> None:
    true, pred, land = _market(500, seed=5)
    with pytest.raises(ValueError, match="499 land flags for 500 held-out prices"):
        conformal_interval(true, pred, 0.9, land=land[:-1])


def test_land_is_a_listing_without_beds_baths_or_living_area() -> None:
    frame = pd.DataFrame(
        {
            "bed": [3, None, None, "nan", None],
            "bath": [2, None, 1, None, None],
            "house_size": [1500, None, None, None, 900],
        }
    )
    assert land_mask(frame).tolist() == [False, True, False, True, False]
