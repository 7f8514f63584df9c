"""Drift reports and references travel through MLflow, so the UI finds reports wherever
the check ran and the check finds the production model's reference sample.

On one machine the drift step and the UI share ``HOMEVAL_HOME/reports``; on a cluster the
step runs in a pipeline pod whose disk disappears with it.  Every check is therefore
also logged as a small MLflow run (tag ``homeval.kind``: ``drift-check`` for market drift,
``serving-drift-check`` for serving drift) holding the scores (``latest.json``) and, when
the check compared data, the Evidently report (``latest.html``).  The UI copies the newest
of each kind into its own reports folder before reading it, once per new check.  Only the
newest ``keep_drift_reports`` checks of a kind keep their page: at one check a half hour
the ~4 MB pages would add ~200 MB a day to the artifact store, and nobody reads an old
one (its scores stay with the run).

Nothing here points MLflow anywhere: the process has called
``homeval.registry.tracking.configure`` once (its entry point does), or hands in a client.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd

from homeval.drift.result import REFERENCE_ARTIFACT, DriftError, Reference
from homeval.platform.settings import Settings

log = logging.getLogger(__name__)

KIND_TAG: Final = "homeval.kind"
MARKET: Final = "drift-check"
SERVING: Final = "serving-drift-check"
HAS_REPORT_TAG: Final = "homeval.has_report"
PRUNED_TAG: Final = "homeval.report_pruned"
ARTIFACT_DIR: Final = "drift"
SCORES: Final = "latest.json"
REPORT: Final = "latest.html"
_MARKER: Final = ".mlflow-runs"
"""Which runs the local copies came from (``<scores run> <report run>``)."""
_RUN_NAMES: Final = {MARKET: "drift check", SERVING: "serving drift check"}


def publish(
    settings: Settings,
    folder: Path,
    *,
    kind: str = MARKET,
    with_report: bool,
    pipeline_run: str | None = None,
) -> str | None:
    """Log ``folder``'s latest scores (and report) as a run of ``kind`` in the platform's
    experiment, then prune old pages of that kind.

    Returns the run id; a registry that cannot take it costs a warning, not the pipeline.
    """
    import mlflow

    from homeval.registry.runs import PIPELINE_RUN_TAG
    from homeval.registry.tracking import experiment_id

    scores = folder / SCORES
    report = folder / REPORT
    if not scores.is_file():
        return None
    try:
        experiment = experiment_id(settings)
        tags = {KIND_TAG: kind, HAS_REPORT_TAG: str(with_report and report.is_file()).lower()}
        if pipeline_run:
            tags[PIPELINE_RUN_TAG] = pipeline_run
        with mlflow.start_run(
            experiment_id=experiment, run_name=_RUN_NAMES.get(kind, kind), tags=tags
        ) as run:
            mlflow.log_artifact(str(scores), artifact_path=ARTIFACT_DIR)
            if tags[HAS_REPORT_TAG] == "true":
                mlflow.log_artifact(str(report), artifact_path=ARTIFACT_DIR)
    except Exception as exc:  # the check itself succeeded; only its copy is missing
        log.warning("drift report not published to MLflow: %s", exc)
        return None
    try:
        from mlflow import MlflowClient

        prune_reports(MlflowClient(), experiment, kind=kind, keep=settings.keep_drift_reports)
    except Exception as exc:  # an old page left behind costs disk, not the pipeline
        log.warning("old drift reports not pruned from MLflow: %s", exc)
    return str(run.info.run_id)


def prune_reports(client: Any, experiment_id: str, *, kind: str = MARKET, keep: int) -> int:
    """Delete the HTML page of every ``kind`` check but the ``keep`` newest; returns how many.

    The run is first marked as having no report, so a reader never picks a page that is
    being deleted.  Works on every artifact store MLflow can delete from (local files, S3,
    the tracking server's proxied artifacts).
    """
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    condition = f"tags.`{KIND_TAG}` = '{kind}' and tags.`{HAS_REPORT_TAG}` = 'true'"
    runs = client.search_runs(
        [experiment_id], condition, order_by=["attributes.start_time DESC"], max_results=1000
    )
    for run in runs[keep:]:
        client.set_tag(run.info.run_id, HAS_REPORT_TAG, "false")
        client.set_tag(run.info.run_id, PRUNED_TAG, "true")
        get_artifact_repository(run.info.artifact_uri).delete_artifacts(f"{ARTIFACT_DIR}/{REPORT}")
    return max(len(runs) - keep, 0)


def _newest(client: Any, experiment_id: str, kind: str, *, with_report: bool) -> Any | None:
    condition = f"tags.`{KIND_TAG}` = '{kind}'"
    if with_report:
        condition += f" and tags.`{HAS_REPORT_TAG}` = 'true'"
    runs = client.search_runs(
        [experiment_id], condition, order_by=["attributes.start_time DESC"], max_results=1
    )
    return runs[0] if runs else None


def fetch_latest(client: Any, experiment: str, folder: Path, *, kind: str = MARKET) -> bool:
    """Copy the newest published ``kind`` scores and report into ``folder`` if they are new.

    ``client`` is an ``mlflow.MlflowClient``, ``experiment`` the experiment's name.  Returns
    True when something was copied.  Raises whatever MLflow raises when the registry cannot
    be read (the caller decides how to say it).
    """
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return False
    scores_run = _newest(client, found.experiment_id, kind, with_report=False)
    if scores_run is None:
        return False
    report_run = _newest(client, found.experiment_id, kind, with_report=True)
    wanted = f"{scores_run.info.run_id} {report_run.info.run_id if report_run else '-'}"
    marker = folder / _MARKER
    if marker.is_file() and marker.read_text().strip() == wanted:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    copied = False
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        for run, name in ((scores_run, SCORES), (report_run, REPORT)):
            if run is None:
                continue
            local = Path(
                client.download_artifacts(run.info.run_id, f"{ARTIFACT_DIR}/{name}", scratch)
            )
            if name == SCORES and _checked_at(folder / SCORES) >= _checked_at(local):
                break  # this folder already holds that check or a newer one (same machine)
            staged = Path(scratch) / f".{name}.new"
            shutil.copyfile(local, staged)
            staged.chmod(0o644)
            staged.replace(folder / name)  # atomic: a reader never sees half a file
            copied = True
    marker.write_text(wanted)
    return copied


def _checked_at(scores: Path) -> str:
    """When a scores file's check ran (ISO time, comparable as text); '' when unknown."""
    try:
        value = json.loads(scores.read_text(encoding="utf-8")).get("checked_at")
    except (OSError, ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def load_reference(run_id: str, client: Any | None = None) -> Reference | None:
    """The reference sample training logged with run ``run_id``; None when the run has none.

    Raises ``DriftError`` when the run itself cannot be read.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from homeval.registry.runs import CLEAN_MAX_ID_TAG

    client = client or MlflowClient()
    try:
        run = client.get_run(run_id)
    except MlflowException as exc:
        raise DriftError(f"cannot read MLflow run {run_id}: {exc}") from exc
    with tempfile.TemporaryDirectory(prefix="homeval-reference-") as tmp:
        try:
            path = client.download_artifacts(run_id, REFERENCE_ARTIFACT, tmp)
        except (MlflowException, OSError):
            return None
        rows = pd.read_parquet(path)
    tag = run.data.tags.get(CLEAN_MAX_ID_TAG)
    return Reference(
        rows=rows,
        run_id=run_id,
        clean_max_id=int(tag) if tag not in (None, "") else None,
        trained_at=datetime.fromtimestamp(run.info.start_time / 1000, tz=UTC),
    )
