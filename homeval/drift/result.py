"""What the drift parts hand each other: the reference, one column's distance, one result.

Plain data only (no Evidently, no MLflow), so the comparison (``compare``), the report
(``report``), the check (``check``), the registry that stores reports and references
(``homeval.registry.drift_reports``) and the web UI that reads reports can all share it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import pandas as pd

REFERENCE_ARTIFACT: Final = "reference/reference.parquet"
"""Where a model's run keeps the sample of its training rows that drift is measured
against (logged with the model by ``homeval.registry.runs``)."""


class DriftError(RuntimeError):
    """The drift check could not read what it compares (reference or store)."""


@dataclass(frozen=True)
class Reference:
    """The production model's training sample and where its training data stopped."""

    rows: pd.DataFrame
    run_id: str
    clean_max_id: int | None
    trained_at: datetime


@dataclass(frozen=True)
class ColumnDrift:
    """One column's distance between reference and current, and whether it drifted."""

    score: float
    drifted: bool
    method: str
    threshold: float
    kind: str
    """``numeric`` or ``categorical``."""
    fields: tuple[str, ...]
    """The listing field(s) the column is made from."""


@dataclass
class DriftResult:
    """What one drift check found; ``detected`` is None when drift could not be judged."""

    detected: bool | None
    share: float | None
    columns: dict[str, ColumnDrift]
    reference_rows: int
    current_rows: int
    reason: str
    model_version: str | None = None
    reference_run_id: str | None = None
    share_threshold: float | None = None
    skipped_columns: dict[str, str] = field(default_factory=dict)
    """Columns left out of this comparison, with why (e.g. no values on one side)."""
    price_moved: bool = False
    """``log_price`` drifted and counts as drift by itself (``drift_on_price``)."""
    report_path: Path | None = None
    """The Evidently HTML report (the timestamped copy; ``latest.html`` beside it)."""
    scores_path: Path | None = None
    checked_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    pipeline_run: str | None = None

    @property
    def drifted_columns(self) -> list[str]:
        return [name for name, col in self.columns.items() if col.drifted]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["columns"] = {
            name: {**asdict(col), "fields": list(col.fields)} for name, col in self.columns.items()
        }
        data["drifted_columns"] = self.drifted_columns
        data["report_path"] = str(self.report_path) if self.report_path else None
        data["scores_path"] = str(self.scores_path) if self.scores_path else None
        return data
