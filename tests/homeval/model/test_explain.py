"""Valuing fields, not features: every feature belongs to one player, shared players split
equally, and an explanation adds up."""

from __future__ import annotations

import math

import numpy as np
import pytest

from homeval.model.explain import (
    EXPLAINED_FIELDS,
    FEATURE_PLAYER,
    PLAYERS,
    by_player,
    dollar_effects,
    explain_rows,
    field_matrix,
    log_mean,
)
from homeval.model.feature_names import FEATURE_FIELDS, FEATURES


def test_features_of_the_same_fields_play_as_one() -> None:
    assert len(FEATURE_PLAYER) == len(FEATURES)
    for feature, player in zip(FEATURES, FEATURE_PLAYER, strict=True):
        assert PLAYERS[player] == FEATURE_FIELDS[feature]
    zip_features = [f for f in FEATURES if FEATURE_FIELDS[f] == ("zip_code",)]
    assert len(zip_features) > 10, "the ZIP's coordinates and neighbour levels"
    assert len({FEATURE_PLAYER[FEATURES.index(f)] for f in zip_features}) == 1
    assert len(PLAYERS) < len(FEATURES) / 2


def test_every_player_lands_whole_on_its_fields() -> None:
    matrix = field_matrix()
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    missing = PLAYERS.index(FEATURE_FIELDS["missing_count"])
    for field in FEATURE_FIELDS["missing_count"]:
        assert matrix[missing, EXPLAINED_FIELDS.index(field)] == pytest.approx(0.25)
    assert "street" not in EXPLAINED_FIELDS


def test_feature_values_sum_per_player() -> None:
    values = np.arange(len(FEATURES), dtype=float)[None, :]
    summed = by_player(values)
    assert summed.shape == (1, len(PLAYERS))
    assert summed.sum() == pytest.approx(values.sum())
    zip_player = PLAYERS.index(("zip_code",))
    expected = sum(i for i, p in enumerate(FEATURE_PLAYER) if p == zip_player)
    assert summed[0, zip_player] == pytest.approx(expected)


def test_an_explanation_adds_up_in_logs_and_multiplies_in_dollars() -> None:
    rng = np.random.default_rng(0)
    shap = rng.normal(0, 0.2, size=(3, len(PLAYERS)))
    base = 12.0
    logs = base + shap.sum(axis=1)
    for item, log_price in zip(explain_rows(shap, base, logs), logs, strict=True):
        assert base + sum(item["contributions"].values()) == pytest.approx(log_price)
        assert item["base_price"] * math.prod(item["factors"].values()) == pytest.approx(
            item["price"]
        )
        # dollars: the price's distance from the base price, shared by log contribution
        assert sum(item["dollars"].values()) == pytest.approx(item["price"] - item["base_price"])
        for field, value in item["contributions"].items():
            assert item["dollars"][field] * value >= 0, "an amount keeps its factor's sign"
            assert item["dollars"][field] == pytest.approx(
                value * (item["price"] - item["base_price"]) / (log_price - base)
            )


def test_dollars_do_not_depend_on_order_and_stay_finite_at_the_base_price() -> None:
    forward = dollar_effects({"bed": 0.2, "zip_code": -0.3}, 12.0, 11.9)
    backward = dollar_effects({"zip_code": -0.3, "bed": 0.2}, 12.0, 11.9)
    assert forward == backward
    # a price equal to the base price: the amounts still say what each field did
    level = dollar_effects({"bed": 0.2, "zip_code": -0.2}, 12.0, 12.0)
    assert level["bed"] == pytest.approx(0.2 * math.exp(12.0))
    assert level["bed"] + level["zip_code"] == pytest.approx(0.0, abs=1e-6)
    assert log_mean(2.0, 1.0) == pytest.approx(1.0 / math.log(2.0))
    assert log_mean(3.0, 3.0) == pytest.approx(3.0)
