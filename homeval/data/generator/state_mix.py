"""State mixes, the generator's drift knob: the usual mix, overrides of some states' shares,
and their ``'CA:0.5,TX:0.3'`` text form."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from homeval.data.generator.world import (
    state_table,
)
from homeval.data.schema import normalise_state

# --- state mixes (drift) ------------------------------------------------------------------


def default_state_mix() -> dict[str, float]:
    """The usual share of listings per state (the national sample's state mix)."""
    table = state_table()
    return {s: float(p) for s, p in zip(table.names, table.weight, strict=True)}


def _resolve_state(key: str) -> str:
    name = normalise_state(key)
    if name is None or name not in state_table().names:
        raise ValueError(f"unknown state {key!r} (use a full name like 'Texas' or a code 'TX')")
    return name


def state_mix(overrides: Mapping[str, float]) -> dict[str, float]:
    """A full mix where the named states get these shares and the rest keep their usual
    proportions (what ``HOMEVAL_DATASOURCE_DRIFT_STATES='CA:0.5,TX:0.3'`` means)."""
    fixed: dict[str, float] = {}
    for key, share in overrides.items():
        if not (isinstance(share, int | float) and math.isfinite(share) and 0 <= share <= 1):
            raise ValueError(f"share of {key!r} must be between 0 and 1, got {share!r}")
        fixed[_resolve_state(key)] = fixed.get(_resolve_state(key), 0.0) + float(share)
    total = sum(fixed.values())
    if total > 1 + 1e-9:
        raise ValueError(f"state shares add up to {total:.3g}, more than 1")
    base = default_state_mix()
    rest = {s: p for s, p in base.items() if s not in fixed}
    scale = (1 - total) / sum(rest.values()) if rest else 0.0
    return {s: fixed.get(s, rest.get(s, 0.0) * scale) for s in base}


def parse_state_mix(text: str) -> dict[str, float]:
    """'California:0.5,TX:0.3' → {'California': 0.5, 'Texas': 0.3}; errors name the part."""
    shares: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, sep, value = part.rpartition(":")
        if not sep or not key.strip():
            raise ValueError(f"state mix part {part!r} is not STATE:SHARE")
        try:
            share = float(value)
        except ValueError:
            raise ValueError(f"state mix part {part!r}: {value!r} is not a number") from None
        shares[_resolve_state(key.strip())] = share
    return shares


def state_probabilities(state_weights: Mapping[str, float] | None) -> np.ndarray:
    table = state_table()
    if state_weights is None:
        return table.weight
    probs = np.zeros(len(table.names))
    for key, value in state_weights.items():
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise ValueError(f"weight of state {key!r} must be a number >= 0, got {value!r}")
        probs[table.names.index(_resolve_state(key))] += float(value)
    if probs.sum() <= 0:
        raise ValueError("state_weights gives no state a positive weight")
    return probs / probs.sum()
