from __future__ import annotations

import pytest

from homeval.data.listing_input import FIELD_LABELS, check_listing, describe_value
from homeval.data.schema import INPUT_FIELDS, LISTING_FIELDS


def test_a_good_form_is_normalised_like_the_store_would_keep_it() -> None:
    check = check_listing(
        {"state": "ct", "city": " Hartford ", "zip_code": "6106", "status": "For Sale",
         "bed": 3.0, "bath": 2.5, "house_size": 1800.0, "acre_lot": 0.25,
         "prev_sold_date": "2019-05-01", "brokered_by": "1234.0", "street": ""}
    )  # fmt: skip
    assert check.ok, check.errors
    assert list(check.listing) == list(INPUT_FIELDS)
    assert check.listing["state"] == "Connecticut"
    assert check.listing["city"] == "Hartford"
    assert check.listing["zip_code"] == "06106"
    assert check.listing["status"] == "for_sale"
    assert check.listing["prev_sold_date"] == "2019-05-01"
    assert check.listing["brokered_by"] == "1234"
    assert check.listing["street"] is None


def test_every_wrong_field_gets_its_own_message_in_one_pass() -> None:
    check = check_listing(
        {"state": "Atlantis", "status": "rented", "bed": -1, "bath": "two",
         "zip_code": "123456", "prev_sold_date": "2020-13-01", "house_size": 1000}
    )  # fmt: skip
    assert not check.ok
    assert set(check.errors) == {"state", "status", "bed", "bath", "zip_code", "prev_sold_date"}
    # the predictor's own words, field by field
    assert check.errors["bed"] == "must not be negative, got -1"
    assert check.errors["bath"] == "not a number: 'two'"
    assert check.errors["state"].startswith("unknown state 'Atlantis'")
    assert "for_sale" in check.errors["status"]
    assert "Bedrooms: must not be negative" in check.summary()


def test_missing_required_fields_are_named() -> None:
    check = check_listing({})
    assert check.errors == {"status": "missing", "state": "missing (required)"}


def test_unknown_fields_are_refused_not_ignored() -> None:
    check = check_listing({"state": "Texas", "status": "sold", "pool": "yes"})
    assert check.errors == {"pool": "not a listing field"}


def test_a_price_typed_into_the_form_never_travels() -> None:
    check = check_listing({"state": "Texas", "status": "sold", "price": 123})
    assert check.ok
    assert "price" not in check.listing


def test_labels_and_values_read_like_words() -> None:
    assert set(LISTING_FIELDS) <= set(FIELD_LABELS)
    assert describe_value("status", "ready_to_build") == "Ready to build"
    assert describe_value("bed", 3.0) == "3"
    assert describe_value("house_size", 1800.0) == "1,800 sq ft"
    assert describe_value("acre_lot", 0.25) == "0.25 acres"
    assert describe_value("city", None) == "not given"


def test_the_form_refuses_what_the_predictor_refuses() -> None:
    from homeval.data.request_fields import RequestError
    from homeval.data.validation import parse_listing

    # the schema stores dates up to 2100; the predictor refuses sales in the future
    check = check_listing({"state": "Texas", "status": "sold", "prev_sold_date": "2090-01-01"})
    assert check.errors == {"prev_sold_date": "2090-01-01 is not between 1800-01-01 and today"}
    with pytest.raises(RequestError, match="2090-01-01 is not between"):
        parse_listing({"state": "Texas", "prev_sold_date": "2090-01-01"})
    assert check_listing({"state": "Texas", "status": "sold", "bed": 2000}).errors == {
        "bed": "2000 is not plausible (at most 1000)"
    }


def test_text_longer_than_the_store_keeps_is_refused_before_it_fails_an_insert() -> None:
    check = check_listing({"state": "Texas", "status": "sold", "city": "x" * 150})
    assert check.errors == {"city": "longer than 128 characters"}
