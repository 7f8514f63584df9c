"""Cluster mode: what a KFP run decided, read back from the platform's ``trainlogs``.

On a cluster the pipeline's steps run in KFP pods and write every decision (trained or
skipped and why, promoted or not, the version) to ``trainlogs.logs`` with the KFP run id
as ``pipeline_run``; the KFP API only knows task states.  When the worker is given the
store's URL (``HOMEVAL_DATABASE_URL``, the ``homeval-db`` Secret) the task reads those
rows back, so its log and XCom say what the run decided, as in local mode.  The rows are
folded by ``homeval_contract.decisions``, as the platform folds them.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from homeval_contract.decisions import Decisions, decisions_from_rows

_QUERY: Final = sa.text(
    "SELECT step, status, message, metrics, model_version FROM trainlogs.logs "
    "WHERE pipeline_run = :run ORDER BY id"
)


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
