"""The column-at-a-time path must be the per-listing parser, only faster."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from homeval.data.listing_batch import ListingBatch
from homeval.data.request_columns import fast_batch
from homeval.data.request_fields import RequestError
from homeval.data.schema import INPUT_FIELDS
from homeval.data.validation import parse_listing
from homeval.model.encoding import to_records
from tests.homeval.helpers import real_listings

_FIELD_VALUES = {
    "state": st.sampled_from(["CT", "Connecticut", " ct ", "new york", "PR", "Gondor", "", None]),
    "status": st.sampled_from(["for_sale", "sold", "For Sale", "", "gone", None, 3, ["x"]]),
    "bed": st.one_of(
        st.none(),
        st.integers(-3, 2_000),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(["3", " 2.5 ", "x", "", True, [1], 10**400]),
    ),
    "house_size": st.one_of(st.none(), st.floats(-10, 2e7), st.sampled_from(["1800", "-1"])),
    "acre_lot": st.one_of(st.none(), st.floats(0, 2e6), st.just(math.nan)),
    "price": st.one_of(st.none(), st.integers(-5, 10**12)),
    "zip_code": st.sampled_from(["06103", "6103", 6103, "0610x", "061034", " 06103", None, 6.5]),
    "city": st.sampled_from(["Hartford", " Hartford ", "", "   ", "x" * 201, None, 12, ["c"]]),
    "brokered_by": st.sampled_from(["103378", 103378.0, 5, 1.5, "", " 7 ", None, math.inf]),
    "street": st.sampled_from(["1619902", None, "", 3.0]),
    "prev_sold_date": st.sampled_from(
        ["2019-03-04", "3/4/2019", "2019-02-30", "1700-01-01", "2999-01-01", "2019-03-04T10:00",
         "          ", "", None, 20190304, "2019-W10-1"]
    ),
}  # fmt: skip


def _same_batch(a: ListingBatch, b: ListingBatch) -> bool:
    for name in ("status", "state", "city", "zip_code", "brokered_by", "street"):
        if getattr(a, name) != getattr(b, name):
            return False
    for name in ("bed", "bath", "acre_lot", "house_size", "sold_day"):
        if not np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True):
            return False
    return True


@settings(max_examples=1_500, deadline=None)
@given(st.lists(st.fixed_dictionaries({}, optional=_FIELD_VALUES), min_size=1, max_size=6))
def test_the_column_path_accepts_exactly_what_the_listing_parser_accepts(
    instances: list[dict[str, object]],
) -> None:
    fast = fast_batch(instances)
    try:
        slow = ListingBatch.from_records([parse_listing(raw) for raw in instances])
    except RequestError:
        assert fast is None, "the column path let through a listing the parser refuses"
        return
    assert fast is None or _same_batch(fast, slow)


def test_real_listings_take_the_column_path(realtor_files: list[Path]) -> None:
    import orjson

    frame = real_listings(realtor_files).loc[:, list(INPUT_FIELDS)]
    instances = orjson.loads(orjson.dumps(to_records(frame.sample(800, random_state=0))))
    fast = fast_batch(instances)
    assert fast is not None, "valid real listings must not fall back to the slow path"
    assert _same_batch(fast, ListingBatch.from_records([parse_listing(r) for r in instances]))
    assert np.isnan(fast.bed).any(), "land listings are in the sample"
    assert None in fast.brokered_by, "listings without a broker are in the sample"
