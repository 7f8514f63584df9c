"""The gates a run may override: their names, ``HOMEVAL_*`` variables, kinds and bounds.

The platform's ``Settings`` takes its bounds for these fields from ``THRESHOLDS``, the CLI
its option bounds, the DAG its params; a threshold left unset (None) is not sent at all,
so the platform's own setting (its environment, else its default) decides, and no caller
carries a second copy of the platform's defaults that could silently disagree with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Final


class ThresholdError(ValueError):
    """A threshold given to a run is out of range or of the wrong type."""


@dataclass(frozen=True)
class Threshold:
    """One gate a run may override."""

    name: str
    kind: type[int] | type[float]
    low: int | float
    high: int | float | None
    """None: no upper bound."""
    description: str

    @property
    def env(self) -> str:
        """The platform's variable (``Settings`` reads ``HOMEVAL_<FIELD>``)."""
        return f"HOMEVAL_{self.name.upper()}"

    def check(self, value: Any) -> int | float:
        """``value`` as this threshold's kind, or ThresholdError naming what is wrong."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ThresholdError(f"{self.name} must be a number, got {value!r}")
        if self.kind is int and not float(value).is_integer():
            raise ThresholdError(f"{self.name} must be a whole number, got {value!r}")
        high = "inf" if self.high is None else self.high
        if value < self.low or (self.high is not None and value > self.high):
            raise ThresholdError(f"{self.name}={value!r} is outside [{self.low}, {high}]")
        return self.kind(value)

    def json_schema(self) -> dict[str, Any]:
        """The threshold as an optional JSON-schema value (an Airflow ``Param``'s keywords)."""
        schema: dict[str, Any] = {
            "type": ["null", "integer" if self.kind is int else "number"],
            "description": self.description,
            "minimum": self.low,
        }
        if self.high is not None:
            schema["maximum"] = self.high
        return schema


MIN_CLEAN_ROWS: Final = Threshold(
    "min_clean_rows", int, 0, None, "Gate: clean rows needed to train."
)
MIN_TEACHER_SHARE: Final = Threshold(
    "min_teacher_share", float, 0.0, 1.0, "Gate: share of feed (teacher) rows needed to train."
)
DRIFT_SHARE_THRESHOLD: Final = Threshold(
    "drift_share_threshold",
    float,
    0.0,
    1.0,
    "Dataset drift when at least this share of the compared columns drift.",
)
COLLECT_MAX_BATCHES: Final = Threshold(
    "collect_max_batches", int, 1, None, "Batches the collect step fetches at most."
)
THRESHOLDS: Final[Mapping[str, Threshold]] = {
    t.name: t
    for t in (MIN_CLEAN_ROWS, MIN_TEACHER_SHARE, DRIFT_SHARE_THRESHOLD, COLLECT_MAX_BATCHES)
}


@dataclass(frozen=True)
class Thresholds:
    """Per-run overrides of the pipeline's gates; None means the platform's setting."""

    min_clean_rows: int | None = None
    min_teacher_share: float | None = None
    drift_share_threshold: float | None = None
    collect_max_batches: int | None = None

    def __post_init__(self) -> None:
        for name, threshold in THRESHOLDS.items():
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, threshold.check(value))

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Thresholds:
        """Pick the thresholds out of a run's params (other params are ignored)."""
        return cls(**{f.name: params.get(f.name) for f in fields(cls)})

    def as_dict(self) -> dict[str, int | float]:
        """The thresholds that are set, by field name (the pipeline's parameter names)."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }

    def as_env(self) -> dict[str, str]:
        """Environment for ``homeval pipeline run``: HOMEVAL_* for each set threshold."""
        return {THRESHOLDS[name].env: str(value) for name, value in self.as_dict().items()}

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
