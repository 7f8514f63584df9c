"""The gates a run may override, and how they reach the pipeline in each mode.

A threshold left unset (None) is not sent at all, so the platform's own setting (its
environment, else its default) decides: the DAG never carries a second copy of the
platform's defaults that could silently disagree with them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any


class ThresholdError(ValueError):
    """A threshold given to a run is out of range or of the wrong type."""


# field -> (environment variable of the platform, kind, lower bound, upper bound)
_SPEC: dict[str, tuple[str, type, float, float]] = {
    "min_clean_rows": ("HOMEVAL_MIN_CLEAN_ROWS", int, 0, math.inf),
    "min_teacher_share": ("HOMEVAL_MIN_TEACHER_SHARE", float, 0.0, 1.0),
    "drift_share_threshold": ("HOMEVAL_DRIFT_SHARE_THRESHOLD", float, 0.0, 1.0),
    "collect_max_batches": ("HOMEVAL_COLLECT_MAX_BATCHES", int, 1, math.inf),
}


@dataclass(frozen=True)
class Thresholds:
    """Per-run overrides of the pipeline's gates; None means the platform's setting."""

    min_clean_rows: int | None = None
    min_teacher_share: float | None = None
    drift_share_threshold: float | None = None
    collect_max_batches: int | None = None

    def __post_init__(self) -> None:
        for name, (_, kind, low, high) in _SPEC.items():
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ThresholdError(f"{name} must be a number, got {value!r}")
            if kind is int and not float(value).is_integer():
                raise ThresholdError(f"{name} must be a whole number, got {value!r}")
            if not (low <= value <= high):
                raise ThresholdError(f"{name}={value!r} is outside [{low}, {high}]")
            object.__setattr__(self, name, kind(value))

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Thresholds:
        """Pick the thresholds out of a run's params (other params are ignored)."""
        return cls(**{f.name: params.get(f.name) for f in fields(cls)})

    def as_dict(self) -> dict[str, int | float]:
        """The thresholds that are set, by field name."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }

    def as_env(self) -> dict[str, str]:
        """Environment for ``homeval pipeline run``: HOMEVAL_* for each set threshold."""
        return {_SPEC[name][0]: str(value) for name, value in self.as_dict().items()}

    def as_arguments(self, accepted: Iterable[str]) -> tuple[dict[str, int | float], list[str]]:
        """Pipeline arguments for the set thresholds the compiled pipeline declares.

        Returns the arguments and the names of set thresholds the pipeline does not take,
        so the caller can say which overrides a cluster run could not apply.
        """
        names = set(accepted)
        chosen = self.as_dict()
        return (
            {k: v for k, v in chosen.items() if k in names},
            sorted(k for k in chosen if k not in names),
        )
