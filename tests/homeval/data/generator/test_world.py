"""The world against the real rows: the state mix, price levels by state, real ZIPs of their
cities, nearby places priced alike.

The reference is the national random sample of the Kaggle file (``realtor-national``),
parsed as the platform parses feeds; the generator is run with that sample's state mix so
both sides describe the same places (the sample lacks MA, NJ and PA on purpose).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from homeval.data.generator.listings import generate
from homeval.data.generator.parameters import calibration
from homeval.data.generator.places import places
from homeval.data.generator.world import world
from homeval.data.listing_parser import parse_frame
from homeval.data.schema import STATE_CODES, STATES
from tests.homeval.data.generator.sample import (
    HELD_OUT,
    LEVEL_SLACK,
    SE,
    is_land,
    load_calibrate_script,
    median_se,
    priced_houses,
)

# --- places --------------------------------------------------------------------------------


def test_state_mix_is_the_samples() -> None:
    """The default mix: the sample's share of every state, MA/NJ/PA's 737 held-out rows
    of the 10,000-row source shared out by population."""
    real = calibration()["states"]
    frame = generate(200_000, seed=8, junk_share=0, malformed_share=0)
    got = frame["state"].value_counts(normalize=True)
    assert set(got.index) == set(STATES)
    sample_rows = sum(real[s]["rows"] for s in STATES)
    assert sample_rows == 9_263
    for state in STATES:
        want = real[state]["rows"] / 10_000 if state not in HELD_OUT else real[state]["share"]
        limit = SE * math.sqrt(want * (1 - want) / len(frame)) + 0.0005
        assert abs(got.get(state, 0.0) - want) <= limit, f"{state}: {got.get(state, 0):.4f}"
    held_out = sum(got[s] for s in HELD_OUT)
    assert held_out == pytest.approx(0.0737, abs=0.003)


@pytest.mark.parametrize("kind", ["ppsf", "house_price", "land_price"])
def test_price_levels_by_state_match_the_sample(
    real: pd.DataFrame, fake: pd.DataFrame, kind: str
) -> None:
    """Median $/sqft and price of houses, median price of land, state by state (states
    with enough real rows to say; the generator shrinks small states towards priors)."""

    def values(frame: pd.DataFrame) -> pd.Series:
        if kind == "land_price":
            x = frame[is_land(frame) & frame["price"].between(1e3, 1e8)]
            return np.log(x["price"]).groupby(x["state"])
        x = priced_houses(frame)
        per = x["price"] / x["house_size"] if kind == "ppsf" else x["price"]
        return np.log(per).groupby(x["state"])

    minimum = 40 if kind == "land_price" else 80
    want, got = values(real), values(fake)
    checked = 0
    for state, r in want:
        if len(r) < minimum:
            continue
        f = got.get_group(state)
        limit = SE * math.hypot(median_se(r), median_se(f)) + LEVEL_SLACK
        gap = f.median() - r.median()
        assert abs(gap) <= limit, f"{state} {kind}: {math.exp(gap):.2f}x the real median"
        checked += 1
    assert checked >= (12 if kind == "land_price" else 20)


def test_every_zip_is_a_real_zip_of_its_city_and_state() -> None:
    """Generated rows place where the zipcodes package says: the model learns ZIP →
    latitude, longitude and county from that package."""
    import zipcodes

    known = {
        z["zip_code"]: (z["city"], z["state"])
        for z in zipcodes.filter_by(active=True, zip_code_type="STANDARD")
    }
    frame = generate(200_000, seed=8, junk_share=0, malformed_share=0)
    rows = frame.dropna(subset=["zip_code"])
    assert len(rows) > 0.99 * len(frame)
    code = rows["state"].map(STATE_CODES)
    place = rows["zip_code"].map(known)
    assert place.notna().all(), rows.loc[place.isna(), "zip_code"].unique()[:10]
    assert (place.str[1] == code).all()
    named = rows["city"].notna()
    assert (place[named].str[0] == rows.loc[named, "city"]).all()
    # thousands of places, more listings where there are more ZIPs
    assert rows["zip_code"].nunique() > 20_000
    counts = rows.groupby(["state", "city"]).size()
    assert counts.loc[("New York", "Brooklyn")] > counts.loc[("New York", "Albany")]


def test_nearby_places_are_priced_alike_and_the_world_ignores_the_seed(real: pd.DataFrame):
    """Within a state, the $/sqft left over after urbanity is correlated between nearby
    listings as much as in the sample (and not far apart); the same ZIP keeps its price
    level whatever the seed."""
    script = load_calibrate_script()
    w, where = world(), places()
    lat = dict(zip(where.zips, where.lat, strict=True))
    lon = dict(zip(where.zips, where.lon, strict=True))
    frame = parse_frame(generate(15_000, seed=13, junk_share=0, malformed_share=0)).rows
    houses = priced_houses(frame.dropna(subset=["zip_code"]))
    log_ppsf = np.log(houses["price"] / houses["house_size"])
    residual = log_ppsf - log_ppsf.groupby(houses["state"]).transform("median")
    urban = calibration()["urbanity"]
    neighbours = dict(zip(where.zips, where.neighbours, strict=True))
    residual -= np.interp(
        np.log(houses["zip_code"].map(neighbours).astype(float)),
        urban["log_neighbours"],
        urban["ppsf_effect"],
    )
    cov = script.spatial_covariance(
        houses["zip_code"].map(lat).to_numpy(dtype=float),
        houses["zip_code"].map(lon).to_numpy(dtype=float),
        houses["state"].to_numpy(dtype=object),
        residual.clip(-1.5, 1.5).to_numpy(),
    )
    want = calibration()["spatial"]["covariance"]
    for k in (1, 2, 3):  # 0.5-5, 5-15, 15-40 km
        assert want[k] / 1.5 <= cov["covariance"][k] <= want[k] * 1.5, (k, cov, want)
    assert abs(cov["covariance"][-1]) < 0.02  # 100-300 km: independent

    levels = []
    for seed in (1, 2):
        rows = parse_frame(generate(40_000, seed=seed, state_weights={"CA": 1})).rows
        rows = priced_houses(rows)
        ppsf = np.log(rows["price"] / rows["house_size"]).groupby(rows["zip_code"])
        levels.append(ppsf.median()[ppsf.size() >= 10])
    both = pd.concat(levels, axis=1, join="inner")
    assert len(both) > 300
    assert both.corr().iloc[0, 1] > 0.8
    assert len(w.zips) == len(where.zips)
