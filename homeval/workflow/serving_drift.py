"""Serving drift as a job: the pipeline's drift step runs it beside the market check, and
``homeval drift serving`` runs it on demand (or from cron).  The web UI only reads the
report it publishes.
"""

from __future__ import annotations

import logging
from typing import Any

from homeval.data.store import Store
from homeval.drift.check import DriftPolicy, ServingDrift, check_serving_drift
from homeval.drift.report import serving_reports_dir
from homeval.drift.result import Reference
from homeval.platform.settings import Settings

log = logging.getLogger("homeval.workflow.serving_drift")


def serving_policy(settings: Settings) -> DriftPolicy:
    """Serving drift: the same share rule; user rows carry no price to move."""
    return DriftPolicy(
        share_threshold=settings.drift_share_threshold,
        sample_rows=settings.drift_sample_rows,
        min_rows=settings.ui_serving_drift_min_rows,
        keep_reports=settings.keep_local_runs,
    )


def serving_drift(
    store: Store, settings: Settings, production: Any, reference: Reference | None, run: str | None
) -> ServingDrift:
    """Check serving drift against the production model's reference and publish it."""
    from homeval.registry.drift_reports import SERVING, publish

    folder = serving_reports_dir(settings)
    serving = check_serving_drift(store, serving_policy(settings), reports_dir=folder,
                                  reference=reference, pipeline_run=run,
                                  model_version=getattr(production, "version", None))  # fmt: skip
    publish(settings, folder, kind=SERVING, pipeline_run=run,
            with_report=serving.result.report_path is not None)  # fmt: skip
    log.info("serving drift: %s", serving.result.reason)
    return serving


def serving_drift_step(settings: Settings, *, pipeline_run: str | None = None) -> ServingDrift:
    """Serving drift on its own (``homeval drift serving``, e.g. from cron)."""
    from homeval.registry.drift_reports import load_reference
    from homeval.registry.promotion import production_model
    from homeval.registry.tracking import configure

    configure(settings)
    store = Store.from_settings(settings)
    store.init()
    try:
        production = production_model(settings)
        run_id = getattr(production, "run_id", None)
        reference = load_reference(run_id) if run_id else None
        return serving_drift(store, settings, production, reference, pipeline_run)
    finally:
        store.dispose()
