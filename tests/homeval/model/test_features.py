from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from homeval.data.listing_batch import ListingBatch
from homeval.data.schema import INPUT_FIELDS
from homeval.model.encoding import to_records
from homeval.model.feature_names import FEATURE_FIELDS, FEATURES
from homeval.model.features import ListingEncoder, novelty
from homeval.model.places import NOVELTY
from tests.homeval.helpers import real_listings


@pytest.fixture(scope="module")
def listings(realtor_files: list[Path]) -> pd.DataFrame:
    return real_listings(realtor_files)


def test_records_path_equals_frame_path(listings: pd.DataFrame) -> None:
    """The predictor's lookup path and the training path give the same numbers."""
    enc = ListingEncoder().fit(listings[list(INPUT_FIELDS)], np.log(listings["price"]))
    frame = enc.transform(listings)
    rows = enc.encode_records(to_records(listings[list(INPUT_FIELDS)]))
    np.testing.assert_allclose(rows, frame.to_numpy(), rtol=1e-12, equal_nan=True)
    assert list(frame.columns) == list(FEATURES)
    assert set(FEATURE_FIELDS) == set(FEATURES)


def test_the_column_path_encodes_what_the_listing_path_encodes(listings: pd.DataFrame) -> None:
    """Many listings are validated and encoded as columns, few one by one: same numbers."""
    import orjson

    from homeval.data.request_columns import fast_batch
    from homeval.data.validation import parse_listing

    enc = ListingEncoder().fit(listings[list(INPUT_FIELDS)], np.log(listings["price"]))
    raw = orjson.loads(orjson.dumps(to_records(listings[list(INPUT_FIELDS)])))
    batch = fast_batch(raw)
    assert batch is not None
    by_row = enc.encode_records([parse_listing(r) for r in raw])
    np.testing.assert_allclose(enc.encode_batch(batch), by_row, rtol=1e-12, equal_nan=True)


def _column(row: np.ndarray, name: str) -> float:
    return float(row[FEATURES.index(name)])


def test_a_new_zip_borrows_from_its_city_and_a_new_city_from_its_county(
    listings: pd.DataFrame,
) -> None:
    """The hierarchy region → state → county → city → ZIP: a place never seen gets the
    level of the wider place it lies in, not the national mean."""
    by_city = listings.groupby(["state", "city"])["zip_code"].nunique()
    state, city = by_city[by_city >= 3].index[0]
    held_zip = listings.loc[(listings["state"] == state) & (listings["city"] == city), "zip_code"]
    held_zip = held_zip.value_counts().index[-1]
    train = listings[listings["zip_code"] != held_zip]
    enc = ListingEncoder().fit(train, np.log(train["price"]))
    listing = listings[listings["zip_code"] == held_zip].iloc[0].to_dict()
    new_zip, new_city = enc.encode_records([listing, {**listing, "city": "Nowhere Falls"}])
    assert _column(new_zip, "zip_listings") == 0.0 < _column(new_zip, "city_listings")
    assert _column(new_zip, "zip_price") == _column(new_zip, "city_price")
    assert _column(new_city, "city_listings") == 0.0 < _column(new_city, "state_listings")
    assert _column(new_city, "city_price") == _column(new_city, "county_price")
    assert novelty(np.vstack([new_zip, new_city])).tolist() == [1, 2]


def test_an_unseen_state_is_priced_from_its_surroundings(listings: pd.DataFrame) -> None:
    """Vermont held out: its listings get the level of the nearest known listings (New
    Hampshire, New York ...), which is not the national mean, and novelty 'new_state'."""
    train = listings[listings["state"] != "Vermont"]
    enc = ListingEncoder().fit(train, np.log(train["price"]))
    vermont = listings[listings["state"] == "Vermont"]
    rows = enc.encode_records(to_records(vermont[list(INPUT_FIELDS)]))
    located = ~np.isnan(rows[:, FEATURES.index("latitude")])
    assert located.mean() > 0.95
    state = rows[located, FEATURES.index("state_price")]
    region = rows[located, FEATURES.index("region_price")]
    np.testing.assert_allclose(state, region)
    assert np.ptp(region) > 0.05  # from each ZIP's own surroundings
    assert abs(np.median(region) - np.log(train["price"]).mean()) > 0.01
    assert (novelty(rows) == NOVELTY.index("new_state")).all()


def test_training_rows_never_see_their_own_price(listings: pd.DataFrame) -> None:
    """Out-of-fold encoding: a ZIP seen once gets only its parents' mean in training, and
    the nearest-listings levels of a training row leave its own price out."""
    rows = listings.copy()
    rows.loc[rows.index[0], "zip_code"] = "00000"
    rows.loc[rows.index[0], "price"] = 99_000_000.0
    alone = rows["zip_code"].map(rows["zip_code"].value_counts()) == 1
    located = rows.index[alone & rows["zip_code"].str.match(r"^[1-9]")][0]
    rows.loc[located, "price"] = 99_000_000.0
    enc = ListingEncoder()
    out = enc.fit_transform(rows, np.log(rows["price"]))
    first = out.iloc[0]
    assert first["zip_price"] == pytest.approx(first["city_price"])
    # but a listing priced later does use what that ZIP taught
    served = enc.transform(rows.iloc[[0]]).iloc[0]
    assert served["zip_price"] > first["zip_price"]
    trained, later = out.loc[located], enc.transform(rows.loc[[located]]).iloc[0]
    # the 5 nearest listings: in training without its own $99M, later with it
    assert later["near_price"] > trained["near_price"] + 0.5
    assert later["near_km"] <= trained["near_km"]


def test_the_training_matrix_adds_rows_of_a_state_never_seen(listings: pd.DataFrame) -> None:
    enc = ListingEncoder(state_held_out_share=0.5)
    matrix, target = enc.training_matrix(listings, np.log(listings["price"]))
    n = len(listings)
    assert len(matrix) == len(target) == n + round(0.5 * n)
    copies = matrix.iloc[n:]
    assert (copies["state_listings"] == 0).all()
    np.testing.assert_allclose(copies["state_price"], copies["region_price"])
    assert (matrix.iloc[:n]["state_listings"] > 0).mean() > 0.99
    again, _ = ListingEncoder(state_held_out_share=0.5).training_matrix(
        listings, np.log(listings["price"])
    )
    pd.testing.assert_frame_equal(matrix, again)  # the same rows every time


def test_land_and_missing_indicators() -> None:
    enc = ListingEncoder().fit(
        pd.DataFrame([dict.fromkeys(INPUT_FIELDS) | {"state": "Vermont"}]), [12.0]
    )
    land = {"state": "Vermont", "acre_lot": 5.0, "status": "for_sale"}
    house = {**land, "bed": 3, "bath": 2, "house_size": 1500, "prev_sold_date": "2000-01-01"}
    a, b = enc.encode_records([land, house])
    idx = {name: i for i, name in enumerate(FEATURES)}
    assert (a[idx["is_land"]], a[idx["missing_count"]]) == (1.0, 3.0)
    assert (b[idx["is_land"]], b[idx["missing_count"]]) == (0.0, 0.0)
    assert np.isnan(a[idx["years_since_sale"]])
    assert b[idx["status"]] == 0.0


def test_repeated_places_come_from_a_cache_that_is_not_pickled(listings: pd.DataFrame) -> None:
    import pickle

    enc = ListingEncoder().fit(listings, np.log(listings["price"]))
    records = to_records(listings[list(INPUT_FIELDS)].head(50))
    first = enc.encode_records(records)
    enc.encode_batch(ListingBatch.from_records(records))
    assert enc._record_places  # filled
    assert enc._places.index
    np.testing.assert_array_equal(enc.encode_records(records), first)
    copy = pickle.loads(pickle.dumps(enc))  # noqa: S301 - our own bytes
    assert not {"_place_cache", "_record_place_cache", "_broker_cache"} & set(copy.__dict__)
    np.testing.assert_array_equal(copy.encode_records(records), first)
    enc.fit(listings.head(100), np.log(listings["price"].head(100)))  # refit: cache is stale
    assert not enc._places.index
    assert not enc._record_places


def test_the_place_cache_survives_repeats_and_resets(
    listings: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Places asked twice in one request, new places over many requests, and a reset when
    the cache is full all give the numbers a fresh encoder gives."""
    from homeval.model import features

    enc = ListingEncoder().fit(listings, np.log(listings["price"]))
    records = to_records(listings[list(INPUT_FIELDS)])
    expected = ListingEncoder().fit(listings, np.log(listings["price"])).encode_records(records)
    monkeypatch.setattr(features, "_PLACE_CACHE_SIZE", 300)
    for start in range(0, len(records), 97):
        chunk = records[start : start + 97] * 2  # every place twice in the request
        got = enc.encode_batch(ListingBatch.from_records(chunk))
        np.testing.assert_array_equal(got, np.vstack([expected[start : start + 97]] * 2))
    assert enc._places.used <= 300
