"""Request validation: normalised output for good listings, one clear sentence for bad ones."""

from __future__ import annotations

import math

import pytest

from homeval.data.listing_batch import ListingBatch
from homeval.data.request_fields import RequestError
from homeval.data.schema import INPUT_FIELDS
from homeval.data.validation import (
    Options,
    columns_to_instances,
    parse_instances,
    parse_listing,
    parse_options,
    parse_v1_body,
)


def test_a_listing_is_normalised_the_way_the_encoder_expects() -> None:
    out = parse_listing(
        {
            "state": " ct ",
            "status": "For Sale",
            "zip_code": 6103,
            "bed": "3",
            "bath": 2,
            "acre_lot": None,
            "house_size": "",
            "city": " Hartford ",
            "prev_sold_date": "3/4/2019",
            "brokered_by": 103378.0,
            "street": "",
        }
    )
    assert list(out) == list(INPUT_FIELDS)
    assert out["state"] == "Connecticut"
    assert out["status"] == "for_sale"
    assert out["zip_code"] == "06103"
    assert out["bed"] == 3.0
    assert out["bath"] == 2.0
    assert math.isnan(out["acre_lot"])
    assert math.isnan(out["house_size"])
    assert out["city"] == "Hartford"
    assert out["prev_sold_date"] == "2019-03-04"
    assert out["brokered_by"] == "103378"
    assert out["street"] is None


def test_lists_in_schema_order() -> None:
    eleven = [None, "sold", 3, 2, 0.5, None, "Stamford", "CT", "06901", 1800, "2015-01-02"]
    twelve = [*eleven[:2], 999_000, *eleven[2:]]
    assert parse_listing(eleven) == parse_listing(twelve)
    assert parse_listing(eleven)["house_size"] == 1800.0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "state: missing (required)"),
        ({"state": "CT", "bed": float("inf")}, "bed: must be a finite number"),
        ({"state": "CT", "bed": -0.5}, "bed: must not be negative, got -0.5"),
        ({"state": "CT", "bath": 5000}, "bath: 5000 is not plausible (at most 1000)"),
        ({"state": "CT", "zip_code": True}, "zip_code: expected up to 5 digits, got a boolean"),
        ({"state": "CT", "prev_sold_date": "1700-01-01"}, "is not between 1800-01-01"),
        ({"state": "CT", 3: 1}, "unknown field 3"),
        ({"state": "CT", "street": 10**400}, "street: longer than 200 characters"),
        ({"state": "CT", "brokered_by": 10**250}, "brokered_by: longer than 200 characters"),
        ({"state": "CT", "street": "x" * 201}, "street: longer than 200 characters"),
        ({"state": "CT", "price": -1}, "price: must not be negative"),
        ([1, 2, 3], "needs 11 values"),
        ("CT", "a listing is an object of fields or a list of values, got a string"),
    ],
)
def test_bad_listings_say_what_is_wrong(raw: object, message: str) -> None:
    with pytest.raises(RequestError) as caught:
        parse_listing(raw)
    assert message in str(caught.value)


def test_nan_is_missing_for_binary_tensors() -> None:
    assert math.isnan(parse_listing({"state": "CT", "bed": float("nan")})["bed"])


def test_instances_and_body_limits() -> None:
    with pytest.raises(RequestError, match="at most 2 per request"):
        parse_instances([{"state": "CT"}] * 3, max_instances=2)
    with pytest.raises(RequestError, match=r"instances\[1\]: state: unknown state 'Gondor'"):
        parse_instances([{"state": "CT"}, {"state": "Gondor"}], max_instances=5)
    listings, options = parse_v1_body(
        {"instances": [{"state": "NY"}], "parameters": {"interval": True}}, max_instances=5
    )
    assert listings[0]["state"] == "New York"  # type: ignore[index]
    many, _ = parse_v1_body({"instances": [{"state": "NY"}] * 20}, max_instances=50)
    assert isinstance(many, ListingBatch)  # a column at a time from COLUMNS_FROM listings
    assert many.state == ["New York"] * 20
    assert options == Options(interval=True)
    assert parse_options(None) == Options()


def test_v2_columns_become_instances() -> None:
    instances = columns_to_instances({"state": ["CT", "NY"], "bed": [3.0, 4.0]}, max_instances=5)
    assert instances == [{"state": "CT", "bed": 3.0}, {"state": "NY", "bed": 4.0}]
    with pytest.raises(RequestError, match="different lengths: state=2, bed=1"):
        columns_to_instances({"state": ["CT", "NY"], "bed": [3.0]}, max_instances=5)
