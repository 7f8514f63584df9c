"""The interval's calibration rows: place-held-out folds, and samples that keep a house whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from homeval.data.properties import property_ids
from homeval.model.calibration import cross_fit_residuals, place_folds, sample_properties
from homeval.model.encoding import city_key
from homeval.model.places import NOVELTY
from tests.homeval.helpers import real_listings


@pytest.fixture(scope="module")
def listings(realtor_files: list[Path]) -> pd.DataFrame:
    return real_listings(realtor_files)


def test_a_held_out_place_falls_whole_into_one_fold(listings: pd.DataFrame) -> None:
    folds = place_folds(listings, seed=3)
    assert set(np.unique(folds)) == {0, 1, 2, 3}
    frame = listings.assign(fold=folds, property=property_ids(listings))
    # a property is in one fold (but for the few whose copies name different places)
    split = frame.groupby("property")["fold"].nunique() > 1
    assert split.mean() < 0.001
    # a quarter of the states are held out whole; the others are spread over the folds
    per_state = frame.groupby("state")["fold"].nunique()
    whole = per_state[(per_state == 1) & (frame.groupby("state").size() >= 20)]
    spread = per_state[per_state == 4]
    assert len(whole) >= 3
    assert len(spread) >= 10
    # and some cities of the remaining states are held out whole as well
    rest = frame[~frame["state"].isin(whole.index)]
    keys = [str(city_key(s, c)) for s, c in zip(rest["state"], rest["city"], strict=True)]
    cities = rest.assign(city_key=keys)
    big = cities.groupby("city_key").filter(lambda g: len(g) >= 20)
    per_city = big.groupby("city_key")["fold"].nunique()
    assert (per_city == 1).sum() >= 5
    assert (per_city > 1).sum() >= 5
    assert list(place_folds(listings, seed=3)) == list(folds)  # the same every run


def test_a_sample_keeps_a_property_whole_and_is_the_same_each_run(listings: pd.DataFrame) -> None:
    assert sample_properties(listings, 0, seed=0) is listings  # 0 = all
    assert sample_properties(listings, len(listings), seed=0) is listings
    sample = sample_properties(listings, 5_000, seed=1)
    assert 4_500 <= len(sample) <= 5_500
    ids, kept = property_ids(listings), set(property_ids(sample))
    # every listing of a sampled property is in the sample, none of the others
    assert listings.index[ids.isin(kept)].equals(sample.index)
    assert sample.index.equals(sample_properties(listings, 5_000, seed=1).index)
    assert not sample.index.equals(sample_properties(listings, 5_000, seed=2).index)


def test_cross_fit_prices_listings_as_new_as_their_fold_made_them(listings: pd.DataFrame) -> None:
    params = {"lightgbm": {"n_estimators": 30, "num_leaves": 15}, "decision_tree": {"max_depth": 6}}
    crossed = cross_fit_residuals(params, listings, seed=0, max_rows=6_000)
    assert set(crossed) == {"lightgbm", "decision_tree"}
    residuals = crossed["lightgbm"]
    assert 5_000 <= len(residuals.price) <= 7_000  # one residual per sampled listing
    assert np.isfinite(residuals.predicted).all()
    assert (residuals.predicted > 0).all()
    # each fold held out whole places: every novelty segment gets measured residuals
    counts = np.bincount(residuals.novelty, minlength=len(NOVELTY))
    assert (counts >= 100).all(), dict(zip(NOVELTY, counts, strict=True))
    # and the less the model knew of a place, the larger its errors
    error = np.abs(np.log(residuals.predicted / residuals.price))
    known, new_state = (np.median(error[residuals.novelty == k]) for k in (0, 3))
    assert new_state > known
