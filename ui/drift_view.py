"""The latest drift check as the UI shows it: the Evidently report and per-column scores.

The drift step (``homeval/drift/check.py``) keeps its newest HTML report as ``latest.html`` in
the reports folder and what it found as ``latest.json`` beside it (``DriftResult``:
verdict, share of drifted columns, reason, and per column score / drifted / method /
threshold).  This reads both without importing Evidently, so the page can show them even
when the check ran elsewhere and only the folder is shared.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd

from homeval.drift.verdict import verdict

REPORT_NAME: Final = "latest.html"
SCORES_NAME: Final = "latest.json"
SCORE_COLUMNS: Final = ["column", "score", "threshold", "drifted", "method"]


@dataclass(frozen=True)
class DriftSummary:
    report: Path | None
    """The HTML report, when there is one."""
    updated: datetime | None = None
    scores: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SCORE_COLUMNS))
    """One row per compared column, the most drifted first."""
    detected: bool | None = None
    """Dataset drift: True/False, or None when the check could not judge."""
    share: float | None = None
    share_threshold: float | None = None
    reason: str = ""
    rows: tuple[int | None, int | None] = (None, None)
    """Reference and current rows compared."""
    price_moved: bool = False
    """The price level drifted, which is drift by itself whatever the share."""
    problem: str | None = None

    def verdict(self) -> str:
        """One sentence for the page (the same words as the report's banner)."""
        return verdict(
            self.detected, self.share, self.share_threshold, self.price_moved, self.reason
        )


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(float(value)) else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def score_frame(columns: Any) -> pd.DataFrame:
    """``{"log_price": {"score": .., "drifted": .., ...}}`` → a table, most drifted first."""
    rows = []
    if isinstance(columns, Mapping):
        for name, item in columns.items():
            if not isinstance(item, Mapping) or _finite(item.get("score")) is None:
                continue
            rows.append(
                {
                    "column": str(name),
                    "score": _finite(item.get("score")),
                    "threshold": _finite(item.get("threshold")),
                    "drifted": bool(item.get("drifted")),
                    "method": str(item.get("method") or ""),
                }
            )
    frame = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    return frame.sort_values("score", ascending=False, ignore_index=True)


def read_drift_summary(reports_dir: Path) -> DriftSummary:
    """Whatever the last drift check left; ``problem`` says what is missing or unreadable."""
    report = reports_dir / REPORT_NAME
    scores_path = reports_dir / SCORES_NAME
    html = report if report.is_file() else None
    if html is None and not scores_path.is_file():
        return DriftSummary(
            report=None, problem="No drift check yet: the pipeline's drift step writes one."
        )
    newest = max(p.stat().st_mtime for p in (report, scores_path) if p.is_file())
    updated = datetime.fromtimestamp(newest, UTC)
    if not scores_path.is_file():
        return DriftSummary(
            report=html, updated=updated, problem="The report has no scores file beside it."
        )
    try:
        data = json.loads(scores_path.read_text(encoding="utf-8"))
        if not isinstance(data, Mapping):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        return DriftSummary(
            report=html, updated=updated, problem=f"The drift scores are unreadable ({exc})."
        )
    checked = data.get("checked_at")
    if isinstance(checked, str):
        with contextlib.suppress(ValueError):
            updated = datetime.fromisoformat(checked)
    detected = data.get("detected")
    return DriftSummary(
        report=html,
        updated=updated,
        scores=score_frame(data.get("columns")),
        detected=detected if isinstance(detected, bool) else None,
        share=_finite(data.get("share")),
        share_threshold=_finite(data.get("share_threshold")),
        reason=str(data.get("reason") or ""),
        rows=(_int(data.get("reference_rows")), _int(data.get("current_rows"))),
        price_moved=data.get("price_moved") is True,
    )
