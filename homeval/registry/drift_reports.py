"""Drift reports travel through MLflow, so the UI finds them wherever the check ran.

On one machine the drift step and the UI share ``HOMEVAL_HOME/reports``; on a cluster the
step runs in a pipeline pod whose disk disappears with it.  Every check is therefore
also logged as a small MLflow run (tag ``homeval.kind = drift-check``) holding the
scores (``latest.json``) and, when the check compared data, the Evidently report
(``latest.html``).  The UI copies the newest of each into its own reports folder before
reading it, once per new check.  Only the newest ``keep_drift_reports`` checks keep their
page: at one check a half hour the ~4 MB pages would add ~200 MB a day to the artifact
store, and nobody reads an old one (its scores stay with the run).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any, Final

from homeval.platform.settings import Settings

log = logging.getLogger(__name__)

KIND_TAG: Final = "homeval.kind"
KIND: Final = "drift-check"
HAS_REPORT_TAG: Final = "homeval.has_report"
PRUNED_TAG: Final = "homeval.report_pruned"
ARTIFACT_DIR: Final = "drift"
SCORES: Final = "latest.json"
REPORT: Final = "latest.html"
_MARKER: Final = ".mlflow-runs"
"""Which runs the local copies came from (``<scores run> <report run>``)."""


def publish(
    settings: Settings, *, with_report: bool, pipeline_run: str | None = None
) -> str | None:
    """Log the reports folder's latest scores (and report) as a drift-check run.

    Returns the run id; a registry that cannot take it costs a warning, not the pipeline.
    """
    import mlflow

    from homeval.registry.tracking import configure

    scores = settings.reports_dir / SCORES
    report = settings.reports_dir / REPORT
    if not scores.is_file():
        return None
    try:
        configure(settings)
        tags = {KIND_TAG: KIND, HAS_REPORT_TAG: str(with_report and report.is_file()).lower()}
        if pipeline_run:
            tags["homeval.pipeline_run"] = pipeline_run
        with mlflow.start_run(run_name="drift check", tags=tags) as run:
            mlflow.log_artifact(str(scores), artifact_path=ARTIFACT_DIR)
            if tags[HAS_REPORT_TAG] == "true":
                mlflow.log_artifact(str(report), artifact_path=ARTIFACT_DIR)
    except Exception as exc:  # the check itself succeeded; only its copy is missing
        log.warning("drift report not published to MLflow: %s", exc)
        return None
    try:
        prune_reports(run.info.experiment_id, keep=settings.keep_drift_reports)
    except Exception as exc:  # an old page left behind costs disk, not the pipeline
        log.warning("old drift reports not pruned from MLflow: %s", exc)
    return str(run.info.run_id)


def prune_reports(experiment_id: str, *, keep: int) -> int:
    """Delete the HTML page of every drift check but the ``keep`` newest; returns how many.

    The run is first marked as having no report, so a reader never picks a page that is
    being deleted.  Works on every artifact store MLflow can delete from (local files, S3,
    the tracking server's proxied artifacts).
    """
    from mlflow import MlflowClient
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    client = MlflowClient()
    condition = f"tags.`{KIND_TAG}` = '{KIND}' and tags.`{HAS_REPORT_TAG}` = 'true'"
    runs = client.search_runs(
        [experiment_id], condition, order_by=["attributes.start_time DESC"], max_results=1000
    )
    for run in runs[keep:]:
        client.set_tag(run.info.run_id, HAS_REPORT_TAG, "false")
        client.set_tag(run.info.run_id, PRUNED_TAG, "true")
        get_artifact_repository(run.info.artifact_uri).delete_artifacts(f"{ARTIFACT_DIR}/{REPORT}")
    return max(len(runs) - keep, 0)


def _newest(client: Any, experiment_id: str, *, with_report: bool) -> Any | None:
    condition = f"tags.`{KIND_TAG}` = '{KIND}'"
    if with_report:
        condition += f" and tags.`{HAS_REPORT_TAG}` = 'true'"
    runs = client.search_runs(
        [experiment_id], condition, order_by=["attributes.start_time DESC"], max_results=1
    )
    return runs[0] if runs else None


def fetch_latest(settings: Settings, reports_dir: Path | None = None) -> bool:
    """Copy the newest published scores and report into ``reports_dir`` if they are new.

    Returns True when something was copied.  Raises whatever MLflow raises when the
    registry cannot be read (the caller decides how to say it).
    """
    import mlflow
    from mlflow import MlflowClient

    from homeval.registry.tracking import configure

    folder = reports_dir or settings.reports_dir
    configure(settings, create_experiment=False)
    client = MlflowClient()
    experiment = client.get_experiment_by_name(settings.mlflow_experiment)
    if experiment is None:
        return False
    scores_run = _newest(client, experiment.experiment_id, with_report=False)
    if scores_run is None:
        return False
    report_run = _newest(client, experiment.experiment_id, with_report=True)
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
                mlflow.artifacts.download_artifacts(
                    run_id=run.info.run_id,
                    artifact_path=f"{ARTIFACT_DIR}/{name}",
                    dst_path=scratch,
                )
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
    import json

    try:
        value = json.loads(scores.read_text(encoding="utf-8")).get("checked_at")
    except (OSError, ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""
