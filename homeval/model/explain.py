"""Why a listing got its price: exact TreeSHAP with the fields a person typed as the
players (``PLAYERS``), each player's value split back to its fields.

The model works on log price, so contributions add up on the log scale:
``log(price) = base_value + sum(contributions)``.  In dollars that is a product:
``price = base_price * prod(factors)`` with ``factor = exp(contribution)`` — a factor of
1.25 on ``house_size`` means "the size makes this listing 25 % dearer than the average
listing the model started from".

``dollars`` is the one reading of the factors as amounts, used by the API, the web page's
chart and the README alike: each field's share of ``price - base_price`` in proportion to
its log contribution, ``dollars = contribution * L(price, base_price)`` with ``L`` the
logarithmic mean ``(a - b) / (ln a - ln b)``.  The amounts add up exactly to
``price - base_price``, do not depend on the order the fields are listed in (a waterfall
that applies factors one after another gives each an amount that depends on what came
before it), and keep each contribution's sign; it is the logarithmic-mean (LMDI)
decomposition of index-number practice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

from homeval.model.feature_names import FEATURE_FIELDS, FEATURES

EXPLAINED_FIELDS: Final = tuple(
    dict.fromkeys(field for feature in FEATURES for field in FEATURE_FIELDS[feature])
)
"""The listing fields a contribution can land on (ids like street carry no feature)."""

PLAYERS: Final = tuple(dict.fromkeys(FEATURE_FIELDS[feature] for feature in FEATURES))
"""The players of the Shapley game: the features made of the same fields play as one.

A person types a ZIP, not its coordinates, county and neighbour levels; valuing the ZIP
as one player (exact TreeSHAP over groups, ``homeval.model.trees``) answers "what does the ZIP do"
directly, where summing its twenty-odd features' values would split their interactions
among features nobody typed.  It is also the cheaper game: a tree path meets fewer
distinct players than features."""

FEATURE_PLAYER: Final = tuple(PLAYERS.index(FEATURE_FIELDS[feature]) for feature in FEATURES)
"""Index into ``PLAYERS`` for each of ``FEATURES``."""


def field_matrix(
    players: Sequence[Sequence[str]] = PLAYERS,
    fields: Sequence[str] = EXPLAINED_FIELDS,
) -> np.ndarray:
    """players × fields: a player made of several fields (``is_land`` is bed, bath and
    size together) is split equally among them."""
    out = np.zeros((len(players), len(fields)))
    column = {name: j for j, name in enumerate(fields)}
    for i, sources in enumerate(players):
        for field in sources:
            out[i, column[field]] += 1.0 / len(sources)
    return out


def by_player(contributions: np.ndarray) -> np.ndarray:
    """Per-feature SHAP values summed per player (for a model explained feature by
    feature, by its library; the compiled trees value the players themselves)."""
    return np.asarray(contributions) @ np.eye(len(PLAYERS))[list(FEATURE_PLAYER)]


_FIELD_MATRIX: Final = field_matrix()


def log_mean(a: float, b: float) -> float:
    """The logarithmic mean of two positive numbers (``a`` when they are equal)."""
    d = math.log(a) - math.log(b)
    if abs(d) < 1e-9:
        return b * (1.0 + d / 2.0)
    return b * math.expm1(d) / d


def dollar_effects(
    contributions: Mapping[str, float], base_value: float, log_price: float
) -> dict[str, float]:
    """Each field's contribution (log scale) as dollars: they add up to the price minus
    the base price, whatever their order (see the module docstring)."""
    scale = log_mean(math.exp(log_price), math.exp(base_value))
    return {name: value * scale for name, value in contributions.items()}


def explain_rows(
    contributions: np.ndarray, base_value: float, log_prices: np.ndarray
) -> list[dict[str, Any]]:
    """SHAP rows per player (log scale) → one explanation per listing, by field."""
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
                "dollars": dollar_effects(contrib, base_value, float(log_price)),
            }
        )
    return out
