"""One listing's values normalised the way the store keeps them."""

from __future__ import annotations

import pytest

from homeval.data.schema import (
    SchemaError,
    listing_to_values,
    normalise_state,
    normalise_status,
    normalise_zip,
)

GOOD = ["103378.0", "for_sale", "105000.0", "3", "2", "0.12", "1962661.0", "Adjuntas",
        "Puerto Rico", "00601", "920.0", ""]  # fmt: skip


def test_single_value_normalisers() -> None:
    assert normalise_status("For Sale") == "for_sale"
    assert normalise_status("rented") is None
    assert normalise_state("ny") == "New York"
    assert normalise_zip(601.0) == "00601"
    assert normalise_zip("6103") == "06103"
    assert normalise_zip(6.5) is None
    assert listing_to_values(GOOD)["city"] == "Adjuntas"
    with pytest.raises(SchemaError, match="needs 12 values"):
        listing_to_values(GOOD[:3])
