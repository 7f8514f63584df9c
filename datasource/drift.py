"""When and how the simulated feed drifts: a price level that creeps, a state mix that moves.

Drift is a schedule over batch numbers, so a test or a demo knows exactly which batches
changed and by how much: from ``start_batch`` on, each batch's prices are
``(1 + price_shift_per_batch) ** k`` times the usual level (k = 1 for the first drifted
batch) and the named states take the given shares of listings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from homeval.data.generator.state_mix import parse_state_mix, state_mix
from homeval.platform.settings import Settings


@dataclass(frozen=True)
class DriftSchedule:
    """No drift unless ``start_batch`` is set."""

    start_batch: int | None = None
    price_shift_per_batch: float = 0.0
    states: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.start_batch is not None and self.start_batch < 0:
            raise ValueError(f"start_batch must be >= 0, got {self.start_batch}")
        shift = self.price_shift_per_batch
        if not math.isfinite(shift) or shift <= -1:
            raise ValueError(f"price_shift_per_batch must be > -1, got {shift}")
        state_mix(self.states)  # raises on unknown states or shares over 1

    @classmethod
    def build(
        cls,
        start_batch: int | None,
        price_shift_per_batch: float,
        states: str | Mapping[str, float] | None,
    ) -> DriftSchedule:
        """From settings-style values: ``states`` as 'CA:0.5,TX:0.3' or a mapping."""
        if isinstance(states, str):
            parsed = parse_state_mix(states)
        else:
            parsed = {k: float(v) for k, v in (states or {}).items()}
        return cls(start_batch, float(price_shift_per_batch), parsed)

    @classmethod
    def from_settings(cls, settings: Settings) -> DriftSchedule:
        return cls.build(
            settings.datasource_drift_start_batch,
            settings.datasource_price_shift_per_batch,
            settings.datasource_drift_states,
        )

    def drifted(self, batch_number: int) -> int:
        """How many drifted batches up to and including this one (0: not drifted)."""
        if self.start_batch is None or batch_number < self.start_batch:
            return 0
        return batch_number - self.start_batch + 1

    def price_shift(self, batch_number: int) -> float:
        """Relative price change of this batch (0.1 = prices 10% higher)."""
        return (1.0 + self.price_shift_per_batch) ** self.drifted(batch_number) - 1.0

    def state_overrides(self, batch_number: int) -> dict[str, float] | None:
        """The state shares this batch must have, or None for the usual mix."""
        if not self.states or not self.drifted(batch_number):
            return None
        return dict(self.states)

    def describe(self) -> dict[str, Any]:
        return {
            "start_batch": self.start_batch,
            "price_shift_per_batch": self.price_shift_per_batch,
            "states": dict(self.states),
        }
