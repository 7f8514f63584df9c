"""Listing columns: built from dicts leniently, and back to the dicts validation gives."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd

from homeval.data.listing_batch import ListingBatch
from homeval.data.validation import parse_listing


def test_validated_listings_become_columns_of_their_values() -> None:
    records = [
        parse_listing({"state": "CT", "bed": 3, "city": "Hartford", "prev_sold_date": "3/4/2019"}),
        parse_listing({"state": "PR", "zip_code": "00601", "brokered_by": 103378.0}),
    ]
    batch = ListingBatch.from_records(records)
    assert len(batch) == 2
    assert batch.state == ["Connecticut", "Puerto Rico"]
    assert batch.city == ["Hartford", None]
    assert batch.zip_code == [None, "00601"]
    assert batch.brokered_by == [None, "103378"]
    assert batch.bed[0] == 3.0
    assert math.isnan(batch.bed[1])
    assert batch.sold_day[0] == date(2019, 3, 4).toordinal()
    assert math.isnan(batch.sold_day[1])


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
