from __future__ import annotations

import math

import pytest

from homeval.model.explain import dollar_effects
from ui.predictor_client import Explanation
from ui.price_explanation import money, signed_money, waterfall


def test_log_space_steps_multiply_from_the_typical_price_to_the_prediction() -> None:
    contributions = {"zip_code": 0.4, "house_size": 0.2, "bed": -0.1, "bath": 0.05,
                     "acre_lot": -0.02, "status": 0.01, "city": 0.003}  # fmt: skip
    explanation = Explanation(base_value=12.0, contributions=contributions, log_space=True)
    listing = {"zip_code": "06106", "house_size": 1800.0, "bed": 3.0}
    fall = waterfall(explanation, listing, top=4)
    expected = math.exp(12.0 + sum(contributions.values()))
    assert fall.base_price == pytest.approx(math.exp(12.0))
    assert fall.price == pytest.approx(expected)
    assert fall.effects[-1].end == pytest.approx(expected)
    # largest first, the rest pooled into one step
    assert [e.field for e in fall.effects] == ["zip_code", "house_size", "bed", "bath", "other"]
    assert fall.effects[0].label == "ZIP code = 06106"
    assert fall.effects[1].label == "Living area (sq ft) = 1,800 sq ft"
    assert fall.effects[-1].label == "Other factors"
    assert fall.effects[0].percent == pytest.approx(math.exp(0.4) - 1)
    assert fall.effects[2].dollars < 0
    for before, after in zip(fall.effects, fall.effects[1:], strict=False):
        assert after.start == pytest.approx(before.end)
    # each step is the one dollar figure the predictor's :explain gives
    amounts = dollar_effects(contributions, 12.0, 12.0 + sum(contributions.values()))
    for effect in fall.effects[:-1]:
        assert effect.dollars == pytest.approx(amounts[effect.field])
    pooled = sum(v for k, v in amounts.items() if k in ("acre_lot", "status", "city"))
    assert fall.effects[-1].dollars == pytest.approx(pooled)


def test_dollar_space_steps_add_up() -> None:
    explanation = Explanation(
        base_value=300_000.0, contributions={"state": 50_000.0, "bed": -20_000.0},
        log_space=False,
    )  # fmt: skip
    fall = waterfall(explanation, {})
    assert fall.price == pytest.approx(330_000.0)
    assert [round(e.dollars) for e in fall.effects] == [50_000, -20_000]
    assert fall.effects[0].label == "State"


def test_money_formats() -> None:
    assert money(1234567.8) == "$1,234,568"
    assert signed_money(-5000) == "−$5,000"
    assert signed_money(5000) == "+$5,000"
