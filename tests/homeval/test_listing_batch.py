"""Listing columns: built from dicts leniently, and back to the dicts validation gives."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from homeval.listing_batch import ListingBatch
from homeval.validation import parse_listing


def test_validated_listings_survive_the_round_trip() -> None:
    records = [
        parse_listing({"state": "CT", "bed": 3, "city": "Hartford", "prev_sold_date": "3/4/2019"}),
        parse_listing({"state": "PR", "zip_code": "00601", "brokered_by": 103378.0}),
    ]
    back = ListingBatch.from_records(records).records()
    assert [list(r) for r in back] == [list(r) for r in records]
    for got, want in zip(back, records, strict=True):
        for field, value in want.items():
            if isinstance(value, float) and math.isnan(value):
                assert math.isnan(got[field]), field
            else:
                assert got[field] == value, field


def test_from_records_reads_wrong_kinds_as_missing_like_the_encoder_always_did() -> None:
    batch = ListingBatch.from_records(
        [
            {
                "state": "Connecticut",
                "status": 3,
                "bed": "2",
                "bath": True,
                "acre_lot": float("inf"),
                "house_size": "n/a",
                "zip_code": ["06103"],
                "prev_sold_date": pd.Timestamp("2020-01-02"),
            },
            {},
        ]
    )
    assert batch.status == [None, None]
    assert batch.bed[0] == 2.0
    assert np.isnan([batch.bath[0], batch.acre_lot[0], batch.house_size[0]]).all()
    assert batch.zip_code == [None, None]  # unhashable: no lookup key
    assert batch.sold_day[0] == pd.Timestamp("2020-01-02").toordinal()
    assert np.isnan(batch.sold_day[1])
    assert batch.state[1] is None
