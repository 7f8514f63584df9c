"""The conformal interval: as wide as each kind of listing needs, and no wider."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from homeval.model.estimator import PriceInterval, conformal_interval
from homeval.model.features import land_mask
from homeval.model.places import NOVELTY

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


def _novel_market(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Errors that grow with novelty (known ZIP 10 % ... unseen state 45 %), land x2."""
    rng = np.random.default_rng(seed)
    land = rng.random(n) < 0.25
    novelty = rng.choice(4, size=n, p=[0.55, 0.15, 0.2, 0.1])
    spread = np.array([0.10, 0.15, 0.25, 0.45])[novelty] * np.where(land, 2.0, 1.0)
    predicted = np.exp(rng.normal(12.5, 0.8, n))
    return predicted * np.exp(rng.normal(0.0, spread)), predicted, land, novelty


def test_every_novelty_segment_gets_the_coverage_asked_for() -> None:
    from homeval.model.estimator import SEGMENTS, segment_names

    true, pred, land, novelty = _novel_market(60_000, seed=6)
    interval = conformal_interval(true, pred, 0.9, land=land, novelty=novelty)
    assert set(interval.segments) == set(SEGMENTS)
    assert interval.segments["house:known_zip"] < interval.segments["house:new_state"]
    assert interval.segments["house:new_city"] < interval.segments["land:new_city"]
    true, pred, land, novelty = _novel_market(60_000, seed=7)
    low, high = interval.bounds(pred, land, novelty)
    inside = (true >= low) & (true <= high)
    names = segment_names(land, novelty)
    for segment in SEGMENTS:
        assert inside[names == segment].mean() == pytest.approx(0.9, abs=0.02), segment
    one_width = conformal_interval(true, pred, 0.9, land=land)  # houses/land only
    low, high = one_width.bounds(pred, land)
    unseen = names == "house:new_state"
    assert ((true >= low) & (true <= high))[unseen].mean() < 0.8


def test_a_thin_segment_borrows_the_wider_of_its_kind_and_its_novelty() -> None:
    true, pred, land, novelty = _novel_market(3_000, seed=8)
    keep = ~(land & (novelty == 3)) | (np.arange(len(land)) % 10 == 0)  # ~8 land:new_state
    interval = conformal_interval(
        true[keep], pred[keep], 0.9, land=land[keep], novelty=novelty[keep]
    )
    assert interval.segment_rows["land:new_state"] == 0
    borrowed = max(
        interval.land_log_halfwidth or 0.0,
        conformal_interval(
            true[keep][novelty[keep] == 3], pred[keep][novelty[keep] == 3], 0.9
        ).log_halfwidth,
    )
    better_known = max(interval.segments[f"land:{p}"] for p in ("known_zip", "new_zip", "new_city"))
    # borrowed, and never narrower than a better-known land segment
    assert interval.segments["land:new_state"] == max(borrowed, better_known)
    assert PriceInterval.from_dict(interval.to_dict()) == interval
    old_model = PriceInterval.from_dict({"coverage": 0.9, "log_halfwidth": 0.5,
                                         "land_log_halfwidth": 0.9})  # fmt: skip
    widths = old_model.halfwidths(np.array([True, False]), np.array([3, 3]))
    assert widths.tolist() == [0.9, 0.5]  # a model of before segments: by kind only


def test_the_decision_tree_is_fitted_on_a_sample_of_a_large_matrix(
    realtor_files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from homeval.model import estimator as modeling
    from tests.homeval.helpers import real_listings

    listings = real_listings(realtor_files).iloc[:3_000]
    monkeypatch.setattr(modeling, "DECISION_TREE_MAX_ROWS", 1_000)
    fitted = modeling.fit_candidates(
        {"decision_tree": {"max_depth": 6}, "lightgbm": {"n_estimators": 5}}, listings, seed=0
    )
    tree = modeling.model_parts(fitted["decision_tree"]).regressor
    assert tree.tree_.n_node_samples[0] == 1_000  # the tree saw a sample of the rows
    assert fitted["lightgbm"].regressor_.max_rows is None  # LightGBM sees every row
    again = modeling.fit_candidates({"decision_tree": {"max_depth": 6}}, listings, seed=0)
    assert np.array_equal(  # the same sample each run of a seed
        fitted["decision_tree"].predict(listings.iloc[:50]),
        again["decision_tree"].predict(listings.iloc[:50]),
    )


def test_knowing_less_of_a_place_never_narrows_its_range() -> None:
    rng = np.random.default_rng(9)
    n = 20_000
    land = rng.random(n) < 0.5
    novelty = rng.choice(4, size=n)
    # land in new cities happens to err less in these rows than land in new ZIPs
    spread = np.array([0.10, 0.30, 0.15, 0.45])[novelty]
    pred = np.exp(rng.normal(12.5, 0.8, n))
    true = pred * np.exp(rng.normal(0.0, spread))
    interval = conformal_interval(true, pred, 0.9, land=land, novelty=novelty)
    own = conformal_interval(
        true[land & (novelty == 2)], pred[land & (novelty == 2)], 0.9
    ).log_halfwidth
    assert own < interval.segments["land:new_zip"]
    assert interval.segments["land:new_city"] == interval.segments["land:new_zip"]
    for kind in ("house", "land"):
        widths = [interval.segments[f"{kind}:{place}"] for place in NOVELTY]
        assert widths == sorted(widths)
    assert interval.segments["land:new_state"] > interval.segments["land:new_zip"]
