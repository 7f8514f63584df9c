"""The pipeline's steps as plain functions: what each KFP component runs, minus KFP.

A component only reads ``Settings()`` from its environment, calls one of these and turns
the answer into KFP outputs, so the same steps run under KFP's local runner, on a
cluster, and in tests without either.  Each step writes what it decided to ``trainlogs``
under the pipeline run's id (training and promotion write their rows themselves, in
``homeval.model.training`` and ``homeval.registry.promotion``), so the UI and Grafana show
every run's history, a skipped run says why, and ``run_decisions`` tells what one run did from the
log alone.

Thresholds a run may override arrive as numbers where a negative value means "the
platform's setting" (KFP parameters cannot be empty), see ``override``.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from homeval_contract.decisions import (
    SKIP_PREFIX,
    SKIPPED,
    STEP_COLLECT,
    STEP_DRIFT,
    STEP_GATES,
    STEP_PROCESS,
    decisions_from_rows,
)
from homeval_contract.decisions import Decisions as RunDecisions

from homeval.data.store import Store
from homeval.data.tables import clean_houses, raw_houses, train_logs
from homeval.drift.check import DriftPolicy, check_drift
from homeval.drift.report import scores_as_metrics
from homeval.drift.result import DriftResult, Reference
from homeval.platform.settings import Settings
from homeval.workflow.gates import (
    GateDecision,
    enough_rows,
    first_failure,
    needs_training,
    teacher_share_ok,
)

log = logging.getLogger("homeval.workflow.steps")


def configure_logging() -> None:
    """Step logs on stderr with time and logger, as each component's log shows them."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )


def metrics_of(values: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """The finite numbers of a mapping (booleans as 0/1), as KFP's Metrics take them."""
    out: dict[str, float] = {}
    for name, value in values.items():
        if isinstance(value, bool | int | float) and math.isfinite(float(value)):
            out[f"{prefix}{name}"] = float(value)
    return out


def override(value: float, setting: float) -> float:
    """A run's threshold, or the platform's setting when the run left it unset (< 0)."""
    return setting if value < 0 else value


def _store(settings: Settings) -> Store:
    store = Store.from_settings(settings)
    store.init()
    return store


# --- collect -------------------------------------------------------------------------------


def collect_step(settings: Settings, *, max_batches: int, pipeline_run: str) -> dict[str, Any]:
    """Pull up to ``max_batches`` feed batches into rawdata; returns the totals."""
    from homeval.data.collect import collect
    from homeval.data.feed_client import FeedClient

    batches = int(override(max_batches, settings.collect_max_batches))
    store = _store(settings)
    try:
        with FeedClient.from_settings(settings) as client:
            summary = collect(
                store,
                client,
                group=settings.feed_group,
                day=settings.feed_day,
                max_batches=batches,
            )
        totals = {
            "batches": summary.batches,
            "inserted": summary.inserted,
            "rejected": summary.rejected,
            "duplicates": summary.duplicates,
            "exhausted": summary.exhausted,
            "raw_total": store.count(raw_houses),
        }
        message = (
            f"{summary.inserted:,} rows stored from {summary.batches} batches "
            f"({summary.rejected:,} rejected, {summary.duplicates} batches already stored)"
            + ("; the feed has no more batches" if summary.exhausted else "")
        )
        store.log_training(
            step=STEP_COLLECT,
            status="collected",
            message=message,
            metrics=totals,
            pipeline_run=pipeline_run,
        )
        log.info("collect: %s", message)
        return totals
    finally:
        store.dispose()


# --- process -------------------------------------------------------------------------------


def process_step(settings: Settings, *, pipeline_run: str) -> dict[str, Any]:
    """Clean the raw rows not processed yet; returns ``ProcessSummary.to_dict()``."""
    from homeval.data.process import process_new

    store = _store(settings)
    try:
        summary = process_new(store, settings).to_dict()
        dropped = ", ".join(f"{k} {v:,}" for k, v in sorted(summary["dropped"].items()))
        message = (
            f"{summary['written']:,} clean rows written from {summary['read']:,} raw rows"
            + (f" (dropped: {dropped})" if dropped else "")
            + f"; {summary['clean_total']:,} clean rows in all"
        )
        store.log_training(
            step=STEP_PROCESS,
            status="processed",
            message=message,
            metrics=summary,
            pipeline_run=pipeline_run,
        )
        log.info("process: %s", message)
        return summary
    finally:
        store.dispose()


# --- gates ---------------------------------------------------------------------------------


def data_gates_step(
    settings: Settings,
    *,
    min_clean_rows: int,
    min_teacher_share: float,
    pipeline_run: str,
) -> GateDecision:
    """Enough clean rows and enough feed rows to train on; a closed gate is logged."""
    store = _store(settings)
    try:
        clean = store.count(clean_houses)
        origins = store.origin_counts(raw_houses)
        minimum = int(override(min_clean_rows, settings.min_clean_rows))
        share = override(min_teacher_share, settings.min_teacher_share)
        rows, teacher = enough_rows(clean, minimum), teacher_share_ok(origins, share)
        closed = first_failure(rows, teacher)
        decision = closed or GateDecision(True, f"{rows.reason}; {teacher.reason}", "data")
        store.log_training(
            step=STEP_GATES,
            status=SKIPPED if closed else "passed",
            message=f"{SKIP_PREFIX}{decision.reason}" if closed else decision.reason,
            metrics={
                "clean_rows": clean,
                "min_clean_rows": minimum,
                "min_teacher_share": share,
                **{f"raw_{k}": v for k, v in origins.items()},
            },
            pipeline_run=pipeline_run,
        )
        log.info("gates: %s", decision.reason)
        return decision
    finally:
        store.dispose()


# --- drift ---------------------------------------------------------------------------------


def drift_policy(settings: Settings, share_threshold: float | None = None) -> DriftPolicy:
    """The market-drift check's policy from the platform's settings (and a run's threshold)."""
    return DriftPolicy(
        share_threshold=(
            settings.drift_share_threshold if share_threshold is None else share_threshold
        ),
        sample_rows=settings.drift_sample_rows,
        min_rows=settings.drift_min_rows,
        drift_on_price=settings.drift_on_price,
        keep_reports=settings.keep_local_runs,
    )


def drift_step(
    settings: Settings, *, drift_share_threshold: float, pipeline_run: str
) -> tuple[DriftResult, GateDecision]:
    """Check drift against the champion, then decide whether training is needed; serving
    drift (the listings people priced vs the champion's reference) is checked beside it.

    Both reports are published to MLflow.  The drift check is logged (step ``drift``); a
    "no training needed" decision is logged as a skip (step ``gates``) with its reason.
    """
    from homeval.registry.drift_reports import load_reference, publish
    from homeval.registry.packaging import MODEL_FORMAT, OLDEST_SERVED_FORMAT
    from homeval.registry.promotion import model_format, production_model
    from homeval.registry.tracking import configure
    from homeval.workflow.serving_drift import serving_drift

    threshold = override(drift_share_threshold, settings.drift_share_threshold)
    configure(settings)  # once for the step: the lookups and publishing below share it
    loaded: dict[str, Reference | None] = {}

    def reference_of(run_id: str) -> Reference | None:
        if run_id not in loaded:
            loaded[run_id] = load_reference(run_id)
        return loaded[run_id]

    store = _store(settings)
    try:
        production = production_model(settings)
        result = check_drift(store, drift_policy(settings, threshold), production=production,
                             load_reference=reference_of, reports_dir=settings.reports_dir,
                             pipeline_run=pipeline_run)  # fmt: skip
        publish(settings, settings.reports_dir, with_report=result.report_path is not None,
                pipeline_run=pipeline_run)  # fmt: skip
        run_id = getattr(production, "run_id", None)
        reference = reference_of(run_id) if run_id else None
        serving_drift(store, settings, production, reference, pipeline_run)
        status = {True: "detected", False: "not_detected", None: "unknown"}[result.detected]
        store.log_training(
            step=STEP_DRIFT,
            status=status,
            message=result.reason,
            metrics={
                **scores_as_metrics(result),
                "detected": result.detected,
                "share_threshold": threshold,
                "report": str(result.report_path) if result.report_path else None,
            },
            model_version=result.model_version,
            pipeline_run=pipeline_run,
        )
        logged = model_format(settings, production) if production is not None else MODEL_FORMAT
        outdated = (
            f"production model v{production.version} was logged by an older homeval "
            f"(model format {logged}, this one serves {OLDEST_SERVED_FORMAT}–{MODEL_FORMAT}): "
            "retrain"
            if production is not None and logged < OLDEST_SERVED_FORMAT
            else ""
        )
        decision = needs_training(
            result.detected, production is not None, outdated=outdated, note=result.reason
        )
        if not decision.passed:
            store.log_training(
                step=STEP_GATES,
                status=SKIPPED,
                message=f"{SKIP_PREFIX}{decision.reason}",
                model_version=result.model_version,
                pipeline_run=pipeline_run,
            )
        log.info("drift: %s -> %s", result.reason, "train" if decision.passed else "skip")
        return result, decision
    finally:
        store.dispose()


# --- train and promote ---------------------------------------------------------------------


def train_step(settings: Settings, *, pipeline_run: str) -> dict[str, Any]:
    """Train every candidate; returns ``TrainResult.to_dict()`` (the promote step's input).

    ``record_candidates`` writes the step's ``trainlogs`` row itself.
    """
    from homeval.model.training import train_candidates
    from homeval.registry.runs import record_candidates

    store = _store(settings)
    try:
        trained = train_candidates(store, settings)
        result = record_candidates(trained, store, settings, pipeline_run=pipeline_run)
        log.info("train: best candidate %s of %d", result.best, len(result.candidates))
        return result.to_dict()
    finally:
        store.dispose()


def promote_step(
    settings: Settings, *, train_result: Mapping[str, Any], pipeline_run: str
) -> dict[str, Any]:
    """Champion/challenger on the run's hold-out; returns ``PromotionDecision.to_dict()``."""
    from homeval.registry.promotion import promote
    from homeval.registry.tracking import configure

    configure(settings)
    store = _store(settings)
    try:
        decision = promote(train_result, store, settings, pipeline_run=pipeline_run)
        return decision.to_dict()
    finally:
        store.dispose()


# --- what a run did ------------------------------------------------------------------------


def run_decisions(store: Store, pipeline_run: str) -> RunDecisions:
    """A run's decisions from its log rows (``homeval_contract.decisions``, which the DAG's
    cluster mode reads them with too)."""
    query = (
        sa.select(train_logs)
        .where(train_logs.c.pipeline_run == pipeline_run)
        .order_by(train_logs.c.id)
    )
    with store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    return decisions_from_rows(rows)
