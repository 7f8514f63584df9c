"""SHAP contributions → a story in dollars: "a typical listing is $X; the ZIP adds $Y ...".

The model works on log price, so each field's contribution multiplies the price by
``exp(contribution)``.  People read dollars, so the effects are laid out as a waterfall
from the typical price (the base value) to the prediction, largest first; each step is
the field's amount as ``explain.dollar_effects`` defines it — the same figure the
predictor's ``:explain`` returns as ``dollars`` — and the steps end exactly at the
predicted price.  Small effects are pooled into one "other factors" step so the chart
stays readable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homeval.data.listing_input import FIELD_LABELS, describe_value
from homeval.model.explain import dollar_effects
from ui.predictor_client import Explanation


@dataclass(frozen=True)
class Effect:
    """One step of the waterfall."""

    field: str
    label: str
    """E.g. "ZIP code = 06106"."""
    start: float
    """Running price before this factor, in dollars."""
    end: float
    """Running price after it."""
    percent: float
    """Relative effect of this factor alone (+0.12 = the price is 12 % higher for it)."""

    @property
    def dollars(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Waterfall:
    base_price: float
    price: float
    effects: tuple[Effect, ...]


def _label(field: str, listing: Mapping[str, Any]) -> str:
    name = FIELD_LABELS.get(field, field.replace("_", " "))
    if field not in listing:
        return name
    return f"{name} = {describe_value(field, listing.get(field))}"


def waterfall(explanation: Explanation, listing: Mapping[str, Any], *, top: int = 8) -> Waterfall:
    """Order effects by size, keep ``top`` of them, pool the rest into "other factors"."""
    items = sorted(explanation.contributions.items(), key=lambda kv: -abs(kv[1]))
    shown, pooled = items[:top], items[top:]
    if pooled:
        shown.append(("other", sum(v for _, v in pooled)))
    effects: list[Effect] = []
    if explanation.log_space:
        log_price = explanation.base_value + sum(explanation.contributions.values())
        amounts = dollar_effects(dict(shown), explanation.base_value, log_price)
        running = math.exp(explanation.base_value)
        base = running
        for field, value in shown:
            end = running + amounts[field]
            label = "Other factors" if field == "other" else _label(field, listing)
            effects.append(Effect(field, label, running, end, math.exp(value) - 1.0))
            running = end
    else:
        running = base = explanation.base_value
        for field, value in shown:
            end = running + value
            label = "Other factors" if field == "other" else _label(field, listing)
            effects.append(Effect(field, label, running, end, value / running if running else 0.0))
            running = end
    return Waterfall(base_price=base, price=running, effects=tuple(effects))


def money(value: float) -> str:
    """$1,234,000 style; signs spelt for changes by the caller."""
    return f"${value:,.0f}"


def signed_money(value: float) -> str:
    return ("+" if value >= 0 else "−") + money(abs(value))
