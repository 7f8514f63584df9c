"""The check: read the reference and the new rows, compare them, decide, write the report.

**Market drift** (the pipeline's drift step): has the market moved away from what the
production model learned?  *Reference* is the sample of its training data logged with
it (``reference/reference.parquet`` in the model's MLflow run, read through
``homeval.registry.drift_reports.load_reference``); *current* is every clean row stored
after the production model's training data was read (training records the highest
clean-row id it read on its run, ``homeval.clean_max_id``; for a run without the tag,
rows processed after the run started).  Fewer than ``DriftPolicy.min_rows`` new rows
cannot be judged (the distances' sampling noise nears the thresholds), so the result is
"unknown" and the gate keeps the champion until more data arrives.

**Serving drift** (also the pipeline's drift step, and ``homeval drift serving``): are the
listings people price in the UI like the market the model knows?  User rows never reach
cleandata, so nobody would notice if people asked mostly about a state or a kind of house
the model rarely saw.  The newest user rows are compared with the production model's
reference sample (without one: the newest clean feed rows, or the raw feed rows before
the first processing run), by the same comparison; the price is left out because user
rows have none.

How two tables are compared is ``homeval.drift.compare``'s; the page and the verdict in
words are ``homeval.drift.report``'s.  The check takes a ``DriftPolicy`` (the caller builds
it from settings) and the folder its report goes to; it reads no settings and talks to no
registry: the reference arrives through ``load_reference``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from homeval.data.store import Store
from homeval.data.tables import clean_houses, raw_houses
from homeval.drift.compare import NEEDED_FIELDS, SAMPLE_SEED, compare, evidently_page
from homeval.drift.report import write_reports
from homeval.drift.result import REFERENCE_ARTIFACT, DriftResult, Reference


@dataclass(frozen=True)
class DriftPolicy:
    """How a check judges: what share of drifted columns is drift, how many rows are
    compared and needed, whether a moved price level is drift by itself, and how many
    time-stamped reports stay in the folder (None: all)."""

    share_threshold: float
    sample_rows: int
    min_rows: int
    drift_on_price: bool = False
    keep_reports: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.share_threshold <= 1.0:
            raise ValueError(f"share_threshold must be between 0 and 1, got {self.share_threshold}")
        if self.sample_rows < 1 or self.min_rows < 0:
            raise ValueError("sample_rows must be positive and min_rows not negative")


# --- reading the new rows -------------------------------------------------------------------


def new_clean_rows(
    store: Store,
    *,
    after_id: int | None = None,
    after_time: datetime | None = None,
    limit: int,
    seed: int = SAMPLE_SEED,
) -> tuple[pd.DataFrame, int]:
    """Clean rows newer than the reference (by id, else by time), sampled to ``limit``.

    Returns the (sampled) rows and how many new rows there were in all.  Only ids are
    read for the whole range, so millions of new rows cost one column scan.
    """
    where: Any
    if after_id is not None:
        where = clean_houses.c.id > after_id
    elif after_time is not None:
        utc = after_time.astimezone(UTC)
        # SQLite keeps UTC as naive text; PostgreSQL compares instants
        where = clean_houses.c.processed_at > (
            utc if store.dialect == "postgresql" else utc.replace(tzinfo=None)
        )
    else:
        where = sa.true()
    with store.engine.connect() as conn:
        ids = np.fromiter(
            (row[0] for row in conn.execute(sa.select(clean_houses.c.id).where(where))),
            dtype=np.int64,
        )
    total = len(ids)
    if total > limit:
        ids = np.sort(np.random.default_rng(seed).choice(ids, size=limit, replace=False))
    columns = [clean_houses.c[f] for f in NEEDED_FIELDS]
    frames: list[pd.DataFrame] = []
    for start in range(0, len(ids), 10_000):
        chunk = [int(i) for i in ids[start : start + 10_000]]
        frames.append(store.read_frame(sa.select(*columns).where(clean_houses.c.id.in_(chunk))))
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=NEEDED_FIELDS)
    return rows, total


# --- market drift -------------------------------------------------------------------------


def check_drift(
    store: Store,
    policy: DriftPolicy,
    *,
    production: Any,
    load_reference: Callable[[str], Reference | None],
    reports_dir: Path,
    pipeline_run: str | None = None,
) -> DriftResult:
    """Drift of the clean rows that arrived since the production model was trained.

    ``production`` is the production model (anything with ``version`` and ``run_id``, e.g.
    ``homeval.registry.promotion.production_model``'s answer): None means there is none, so
    there is no reference and ``detected`` is None.  ``load_reference`` reads a run's
    reference sample (None when the run has none).  The report goes to ``reports_dir``.
    """
    threshold = policy.share_threshold

    def unjudged(reason: str, **known: Any) -> DriftResult:
        result = DriftResult(None, None, {}, 0, 0, reason, share_threshold=threshold, **known)
        result.pipeline_run = pipeline_run
        return write_reports(result, None, reports_dir, policy.keep_reports)

    if production is None:
        return unjudged("no reference: there is no production model yet")
    version = getattr(production, "version", None)
    run_id = getattr(production, "run_id", None)
    if not run_id:
        return unjudged(f"no reference: production model v{version} has no MLflow run")
    reference = load_reference(run_id)
    if reference is None:
        return unjudged(
            f"no reference: run {run_id} of production model v{version} has no "
            f"{REFERENCE_ARTIFACT}",
            model_version=version,
            reference_run_id=run_id,
        )
    current, new_rows = new_clean_rows(
        store,
        after_id=reference.clean_max_id,
        after_time=reference.trained_at if reference.clean_max_id is None else None,
        limit=policy.sample_rows,
    )
    known = {"model_version": version, "reference_run_id": run_id}
    if new_rows < policy.min_rows:
        return unjudged(
            f"only {new_rows:,} new clean rows since production model v{version} was "
            f"trained; {policy.min_rows:,} needed to judge drift",
            **known,
        )
    result, snapshot = compare(
        reference.rows,
        current,
        share_threshold=threshold,
        sample_rows=policy.sample_rows,
        price_alone=policy.drift_on_price,
    )
    result.model_version = version
    result.reference_run_id = run_id
    result.pipeline_run = pipeline_run
    result.reason = f"{result.reason}; {new_rows:,} new rows vs production model v{version}"
    page = evidently_page(snapshot) if snapshot is not None else None
    return write_reports(result, page, reports_dir, policy.keep_reports)


# --- serving drift --------------------------------------------------------------------------


@dataclass(frozen=True)
class ServingDrift:
    result: DriftResult
    user_rows: int
    reference_rows: int


def _newest(store: Store, table: sa.Table, origin: str, limit: int) -> pd.DataFrame:
    columns = [table.c[name] for name in NEEDED_FIELDS]
    query = (
        sa.select(*columns)
        .where(table.c.data_origin == origin)
        .order_by(table.c.id.desc())
        .limit(limit)
    )
    return store.read_frame(query)


def check_serving_drift(
    store: Store,
    policy: DriftPolicy,
    *,
    reports_dir: Path,
    reference: Reference | None = None,
    model_version: str | None = None,
    pipeline_run: str | None = None,
) -> ServingDrift:
    """Compare the newest user rows with what the model learnt from; write the report.

    ``reference`` is the production model's (version ``model_version``); without it the
    newest feed rows stand in.  Fewer than ``policy.min_rows`` user rows are not judged (the
    distances' sampling noise would decide).
    """
    rows = policy.sample_rows
    current = _newest(store, raw_houses, "user", rows)
    if reference is not None and not reference.rows.empty:
        known = reference.rows
        against = (
            f"{len(known):,} listings production model v{model_version} learnt from"
            if model_version
            else f"{len(known):,} listings the production model learnt from"
        )
    else:
        known = _newest(store, clean_houses, "teacher", rows)
        if known.empty:  # before the first processing run: the raw feed rows
            known = _newest(store, raw_houses, "teacher", rows)
        against = f"{len(known):,} feed listings"
    if len(current) < policy.min_rows or known.empty:
        missing = (
            f"only {len(current)} priced listings, {policy.min_rows} needed"
            if len(current) < policy.min_rows
            else "no feed listings to compare with"
        )
        result = DriftResult(None, None, {}, len(known), len(current), missing)
        result.model_version, result.pipeline_run = model_version, pipeline_run
        write_reports(result, None, reports_dir, policy.keep_reports)
        return ServingDrift(result, len(current), len(known))
    current["price"] = None  # user rows have no sale price: the target is not compared
    result, snapshot = compare(
        known, current, share_threshold=policy.share_threshold, sample_rows=rows
    )
    result.reason = f"{len(current):,} priced listings compared with {against}; {result.reason}"
    result.model_version, result.pipeline_run = model_version, pipeline_run
    if reference is not None:
        result.reference_run_id = reference.run_id
    page = evidently_page(snapshot) if snapshot is not None else None
    write_reports(result, page, reports_dir, policy.keep_reports)
    return ServingDrift(result, len(current), len(known))
