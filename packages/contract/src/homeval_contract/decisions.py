"""What one pipeline run decided, folded from the rows its steps wrote to ``trainlogs``.

Every step logs a row under the run's id (``pipeline_run``); the platform reads them with
its store, the DAG's cluster mode with a query of its own, and both hand the rows to
``decisions_from_rows``, so a run reads the same wherever it is read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

STEP_COLLECT: Final = "collect"
STEP_PROCESS: Final = "process"
STEP_GATES: Final = "gates"
STEP_DRIFT: Final = "drift"
STEP_TRAIN: Final = "train"
STEP_PROMOTE: Final = "promote"
SKIPPED: Final = "skipped"
"""The status of a row that closed the way to training."""
PROMOTED: Final = "promoted"
SKIP_PREFIX: Final = "training skipped: "
"""How a skip row's message begins; the rest is the reason."""


@dataclass(frozen=True)
class Decisions:
    """What one pipeline run decided.

    ``model_version`` is the production version after the run's promote step (the new
    version when promoted, the champion's when not); None when the run did not train.
    """

    collected_rows: int
    clean_rows: int
    drift_detected: bool | None
    drift_share: float | None
    trained: bool
    promoted: bool
    model_version: str | None
    skip_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


NOTHING: Final = Decisions(0, 0, None, None, False, False, None, None)
"""The decisions of a run that wrote no row."""


def decisions_from_rows(rows: Iterable[Mapping[str, Any]]) -> Decisions:
    """Fold a run's rows, oldest first, into its decisions (the last row of each step wins).

    A row has ``step``, ``status``, ``message``, ``metrics`` (a mapping, or JSON text as
    some drivers hand a JSON column over) and ``model_version``.
    """
    last: dict[str, Mapping[str, Any]] = {}
    skip: str | None = None
    for row in rows:
        last[row["step"]] = row
        if row["status"] == SKIPPED and skip is None:
            skip = str(row["message"]).removeprefix(SKIP_PREFIX)

    def metric(step: str, name: str) -> Any:
        metrics = (last.get(step) or {}).get("metrics") or {}
        if isinstance(metrics, str):
            metrics = json.loads(metrics)
        return metrics.get(name)

    share = metric(STEP_DRIFT, "drift_share")
    promote = last.get(STEP_PROMOTE)
    version = promote.get("model_version") if promote else None
    return Decisions(
        collected_rows=int(metric(STEP_COLLECT, "inserted") or 0),
        clean_rows=int(
            metric(STEP_PROCESS, "clean_total") or metric(STEP_GATES, "clean_rows") or 0
        ),
        drift_detected=metric(STEP_DRIFT, "detected"),
        drift_share=float(share) if share is not None else None,
        trained=STEP_TRAIN in last,
        promoted=bool(promote and promote["status"] == PROMOTED),
        model_version=str(version) if version is not None else None,
        skip_reason=skip,
    )
