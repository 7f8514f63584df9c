"""Why a listing got its price: TreeSHAP per model feature, summed back to the fields a
person typed.

The model works on log price, so contributions add up on the log scale:
``log(price) = base_value + sum(contributions)``.  In dollars that is a product:
``price = base_price * prod(factors)`` with ``factor = exp(contribution)`` — a factor of
1.25 on ``house_size`` means "the size makes this listing 25 % dearer than the average
listing the model started from".  ``dollars`` gives one reading of each factor as an
amount: what the price would lose without that field's factor alone,
``price * (1 - 1 / factor)`` (these amounts do not add up to the price; the factors
multiply to it exactly).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

from homeval.features import FEATURE_FIELDS, FEATURES

EXPLAINED_FIELDS: Final = tuple(
    dict.fromkeys(field for feature in FEATURES for field in FEATURE_FIELDS[feature])
)
"""The listing fields a contribution can land on (ids like street carry no feature)."""


def field_matrix(
    features: Sequence[str] = FEATURES,
    feature_fields: Mapping[str, Sequence[str]] = FEATURE_FIELDS,
    fields: Sequence[str] = EXPLAINED_FIELDS,
) -> np.ndarray:
    """features × fields: a feature made of several fields is split equally among them."""
    out = np.zeros((len(features), len(fields)))
    column = {name: j for j, name in enumerate(fields)}
    for i, feature in enumerate(features):
        sources = feature_fields[feature]
        for field in sources:
            out[i, column[field]] += 1.0 / len(sources)
    return out


_FIELD_MATRIX: Final = field_matrix()


def explain_rows(
    contributions: np.ndarray, base_value: float, log_prices: np.ndarray
) -> list[dict[str, Any]]:
    """Per-feature SHAP rows (log scale) → one explanation per listing, by field."""
    by_field = contributions @ _FIELD_MATRIX
    out = []
    for row, log_price in zip(by_field, log_prices, strict=True):
        price = math.exp(float(log_price))
        contrib = {name: float(v) for name, v in zip(EXPLAINED_FIELDS, row, strict=True)}
        out.append(
            {
                "price": price,
                "log_price": float(log_price),
                "base_value": float(base_value),
                "base_price": math.exp(base_value),
                "contributions": contrib,
                "factors": {name: math.exp(v) for name, v in contrib.items()},
                "dollars": {name: price * (1.0 - math.exp(-v)) for name, v in contrib.items()},
            }
        )
    return out
