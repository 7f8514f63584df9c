"""Cluster mode: what a KFP run decided, read back from the platform's ``trainlogs``.

On a cluster the pipeline's steps run in KFP pods and write every decision (trained or
skipped and why, promoted or not, the version) to ``trainlogs.logs`` with the KFP run id
as ``pipeline_run``; the KFP API only knows task states.  When the worker is given the
store's URL (``HOMEVAL_DATABASE_URL``, the ``homeval-db`` Secret) the task reads those
rows back, so its log and XCom say what the run decided, as in local mode.

This rebuilds the decisions exactly as ``homeval.workflow.steps.run_decisions`` does (the last
row of each step wins); it is a copy because the DAG's environment cannot install
homeval (Airflow 3 and kserve do not share a virtualenv), and a test in the platform's
suite holds the two to the same answers on rows homeval itself wrote.
"""

from __future__ import annotations

import json
from typing import Any, Final

import sqlalchemy as sa

from .outcome import Decisions

_QUERY: Final = sa.text(
    "SELECT step, status, message, metrics, model_version FROM trainlogs.logs "
    "WHERE pipeline_run = :run ORDER BY id"
)
_SKIP_PREFIX: Final = "training skipped: "


def engine_url(database_url: str) -> sa.engine.URL:
    """The store's URL with the psycopg 3 driver the DAG's environment carries."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def read_decisions(database_url: str, run_id: str) -> Decisions | None:
    """The run's decisions, or None when the store holds no row of that run."""
    engine = sa.create_engine(engine_url(database_url), pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(_QUERY, {"run": run_id})]
    finally:
        engine.dispose()
    return decisions_from_rows(rows) if rows else None


def decisions_from_rows(rows: list[dict[str, Any]]) -> Decisions:
    last: dict[str, dict[str, Any]] = {}
    skip: str | None = None
    for row in rows:
        last[row["step"]] = row
        if row["status"] == "skipped" and skip is None:
            skip = str(row["message"]).removeprefix(_SKIP_PREFIX)

    def metric(step: str, name: str) -> Any:
        metrics = (last.get(step) or {}).get("metrics") or {}
        if isinstance(metrics, str):  # a JSON column some drivers hand over as text
            metrics = json.loads(metrics)
        return metrics.get(name)

    share = metric("drift", "drift_share")
    promote = last.get("promote")
    version = promote.get("model_version") if promote else None
    return Decisions(
        collected_rows=int(metric("collect", "inserted") or 0),
        clean_rows=int(metric("process", "clean_total") or metric("gates", "clean_rows") or 0),
        drift_detected=metric("drift", "detected"),
        drift_share=float(share) if share is not None else None,
        trained="train" in last,
        promoted=bool(promote and promote["status"] == "promoted"),
        model_version=str(version) if version is not None else None,
        skip_reason=skip,
    )
