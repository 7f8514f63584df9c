from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from homeval.features import FEATURE_FIELDS, FEATURES, INPUT_FIELDS, ListingEncoder, to_records
from homeval.listing_batch import ListingBatch
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

    from homeval.validation import fast_batch, parse_listing

    enc = ListingEncoder().fit(listings[list(INPUT_FIELDS)], np.log(listings["price"]))
    raw = orjson.loads(orjson.dumps(to_records(listings[list(INPUT_FIELDS)])))
    batch = fast_batch(raw)
    assert batch is not None
    by_row = enc.encode_records([parse_listing(r) for r in raw])
    np.testing.assert_allclose(enc.encode_batch(batch), by_row, rtol=1e-12, equal_nan=True)


def test_unseen_places_fall_back_to_their_parent(listings: pd.DataFrame) -> None:
    enc = ListingEncoder().fit(listings, np.log(listings["price"]))
    known = listings.iloc[0].to_dict()
    new_zip = {**known, "zip_code": "00002"}
    new_city = {**new_zip, "city": "Nowhere"}
    a, b, c = enc.encode_records([known, new_zip, new_city])
    idx = {name: i for i, name in enumerate(FEATURES)}
    assert b[idx["zip_price"]] == b[idx["city_price"]] == a[idx["city_price"]]
    assert c[idx["zip_price"]] == c[idx["state_price"]] == a[idx["state_price"]]
    assert b[idx["zip_listings"]] == 0.0


def test_training_rows_never_see_their_own_price(listings: pd.DataFrame) -> None:
    """Out-of-fold encoding: a ZIP seen once gets only its parents' mean in training."""
    rows = listings.copy()
    rows.loc[rows.index[0], "zip_code"] = "00000"
    rows.loc[rows.index[0], "price"] = 99_000_000.0
    enc = ListingEncoder()
    out = enc.fit_transform(rows, np.log(rows["price"]))
    first = out.iloc[0]
    assert first["zip_price"] == pytest.approx(first["city_price"])
    # but a listing priced later does use what that ZIP taught
    served = enc.transform(rows.iloc[[0]]).iloc[0]
    assert served["zip_price"] > first["zip_price"]


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
    from homeval import features

    enc = ListingEncoder().fit(listings, np.log(listings["price"]))
    records = to_records(listings[list(INPUT_FIELDS)])
    expected = ListingEncoder().fit(listings, np.log(listings["price"])).encode_records(records)
    monkeypatch.setattr(features, "_PLACE_CACHE_SIZE", 300)
    for start in range(0, len(records), 97):
        chunk = records[start : start + 97] * 2  # every place twice in the request
        got = enc.encode_batch(ListingBatch.from_records(chunk))
        np.testing.assert_array_equal(got, np.vstack([expected[start : start + 97]] * 2))
    assert enc._places.used <= 300
