"""The model's input columns by name, and the listing fields each one is made from.

What reads or explains a model's features needs their names, not the encoder that makes
them: the web UI sums an explanation back to fields with these tables and so does not
load scikit-learn (~70 MB) for a list of names.  ``features.ListingEncoder`` fills the
columns in this order.
"""

from __future__ import annotations

from typing import Final

from homeval.model.places import PLACE_COLUMNS

NUMERIC_FEATURES: Final = ("bed", "bath", "acre_lot", "house_size")
"""Listing numbers the model reads as they are given."""
LISTING_FEATURES: Final = (
    "status",
    *NUMERIC_FEATURES,
    "is_land",
    "missing_count",
    "years_since_sale",
)
"""What the listing itself says, before anything is known of its place."""
DERIVED_FEATURES: Final = ("size_price", "lot_price", "local_size_price", "local_lot_price")
"""The local price of a house this size / a lot this large: the place's price per sqft
(per acre) times the listing's size (lot), on the log scale."""
FEATURES: Final = (*LISTING_FEATURES, *PLACE_COLUMNS, *DERIVED_FEATURES)
"""Feature order of the model's input matrix.  No listing id (street, broker) is read:
two alike houses in one place get one price whoever lists them.  (A broker's mean price
was a feature until issue 17; it bought 0.024 R²(log) on the north-eastern rows, by
pricing the lister rather than the house.)"""

_PLACE_FIELD: Final = {"state": ("state",), "city": ("city",)}
FEATURE_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "status": ("status",),
    "bed": ("bed",),
    "bath": ("bath",),
    "acre_lot": ("acre_lot",),
    "house_size": ("house_size",),
    "is_land": ("bed", "bath", "house_size"),
    "missing_count": ("bed", "bath", "acre_lot", "house_size"),
    "years_since_sale": ("prev_sold_date",),
    # a place is located by its ZIP (coordinates, county, neighbours); the state and
    # city levels and counts are read by name
    **{name: _PLACE_FIELD.get(name.split("_")[0], ("zip_code",)) for name in PLACE_COLUMNS},
    "size_price": ("house_size", "zip_code"),
    "lot_price": ("acre_lot", "zip_code"),
    "local_size_price": ("house_size", "zip_code"),
    "local_lot_price": ("acre_lot", "zip_code"),
}
"""Which original fields each feature comes from; SHAP values are summed back through this
(a feature made of several fields is split equally among them)."""

LAND_FIELDS: Final = ("bed", "bath", "house_size")
"""A listing with none of these is land (the model's ``is_land``)."""
LAND_COLUMN: Final = FEATURES.index("is_land")
"""Column of ``is_land`` in the encoded matrix (1.0 for land listings)."""
