"""Drift reports cross machines through MLflow: the pipeline pod publishes, the UI fetches;
the check's reference is read from the model's run."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from homeval.drift.result import DriftError
from homeval.platform.settings import Settings
from homeval.registry import drift_reports
from homeval.registry.drift_reports import MARKET, SERVING, load_reference
from homeval.registry.tracking import configure


def publish(settings: Settings, *, with_report: bool, pipeline_run: str | None = None,
            kind: str = MARKET, folder: Path | None = None) -> str | None:  # fmt: skip
    """Publish as a pipeline step does: MLflow configured once by the step, then publish."""
    configure(settings, create_experiment=False)
    return drift_reports.publish(settings, folder or settings.reports_dir, kind=kind,
                                 with_report=with_report, pipeline_run=pipeline_run)  # fmt: skip


def fetch_latest(settings: Settings, *, kind: str = MARKET, folder: Path | None = None) -> bool:
    """Fetch as the UI does: with its own client (its tracking URI), into its folder."""
    from mlflow import MlflowClient

    client = MlflowClient(settings.mlflow_tracking_uri, settings.mlflow_registry_uri)
    return drift_reports.fetch_latest(client, settings.mlflow_experiment,
                                      folder or settings.reports_dir, kind=kind)  # fmt: skip


def write_check(folder: Path, checked_at: str, html: str | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "latest.json").write_text(json.dumps({"checked_at": checked_at, "share": 0.3}))
    if html is not None:
        (folder / "latest.html").write_text(html)


def test_a_check_made_elsewhere_reaches_the_ui_once(tmp_path: Path) -> None:
    registry = f"sqlite:///{tmp_path / 'mlflow.db'}"
    artifacts = (tmp_path / "artifacts").as_uri()
    pod = Settings(
        home=tmp_path / "pod", mlflow_tracking_uri=registry, mlflow_artifact_root=artifacts
    )
    ui = Settings(
        home=tmp_path / "ui", mlflow_tracking_uri=registry, mlflow_artifact_root=artifacts
    )

    assert fetch_latest(ui) is False  # nothing published yet

    write_check(pod.reports_dir, "2026-11-26T10:00:00+00:00", "<html>first</html>")
    assert publish(pod, with_report=True, pipeline_run="run-1")
    assert fetch_latest(ui) is True
    assert (ui.reports_dir / "latest.html").read_text() == "<html>first</html>"
    assert fetch_latest(ui) is False  # same check: not copied again

    # a check that could not compare (no report) updates the scores, keeps the last report
    (pod.reports_dir / "latest.html").unlink()
    write_check(pod.reports_dir, "2026-11-26T11:00:00+00:00", None)
    assert publish(pod, with_report=False, pipeline_run="run-2")
    assert fetch_latest(ui) is True
    assert "11:00" in (ui.reports_dir / "latest.json").read_text()
    assert (ui.reports_dir / "latest.html").read_text() == "<html>first</html>"


def test_a_newer_local_check_is_not_overwritten(tmp_path: Path) -> None:
    registry = f"sqlite:///{tmp_path / 'mlflow.db'}"
    artifacts = (tmp_path / "artifacts").as_uri()
    settings = Settings(home=tmp_path / "home", mlflow_tracking_uri=registry,
                        mlflow_artifact_root=artifacts)  # fmt: skip
    write_check(settings.reports_dir, "2026-11-26T10:00:00+00:00", "<html>old</html>")
    publish(settings, with_report=True)
    write_check(settings.reports_dir, "2026-11-26T12:00:00+00:00", "<html>newer</html>")
    assert fetch_latest(settings) is False
    assert (settings.reports_dir / "latest.html").read_text() == "<html>newer</html>"


def test_an_unreachable_registry_costs_the_publisher_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    settings = Settings(home=tmp_path / "home", mlflow_tracking_uri="http://127.0.0.1:9")
    write_check(settings.reports_dir, "2026-11-26T10:00:00+00:00", "<html>x</html>")
    assert publish(settings, with_report=True) is None


def test_only_the_newest_checks_keep_their_page(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    registry = f"sqlite:///{tmp_path / 'mlflow.db'}"
    artifacts = tmp_path / "artifacts"
    settings = Settings(home=tmp_path / "pod", mlflow_tracking_uri=registry,
                        mlflow_artifact_root=artifacts.as_uri(), keep_drift_reports=2)  # fmt: skip
    runs = []
    for hour in range(10, 15):
        write_check(settings.reports_dir, f"2026-11-26T{hour}:00:00+00:00", f"<html>{hour}</html>")
        runs.append(publish(settings, with_report=True))
    pages = sorted(p.read_text() for p in artifacts.rglob("latest.html"))
    assert pages == ["<html>13</html>", "<html>14</html>"]
    assert len(list(artifacts.rglob("latest.json"))) == 5, "every check keeps its scores"
    client = MlflowClient(registry)
    tags = [client.get_run(run).data.tags for run in runs]  # type: ignore[arg-type]
    assert [t["homeval.has_report"] for t in tags] == ["false"] * 3 + ["true"] * 2
    assert all(t.get("homeval.report_pruned") == "true" for t in tags[:3])
    ui = Settings(home=tmp_path / "ui", mlflow_tracking_uri=registry,
                  mlflow_artifact_root=artifacts.as_uri())  # fmt: skip
    assert fetch_latest(ui) is True
    assert (ui.reports_dir / "latest.html").read_text() == "<html>14</html>"


def test_market_and_serving_reports_are_kept_apart(tmp_path: Path) -> None:
    registry = f"sqlite:///{tmp_path / 'mlflow.db'}"
    artifacts = (tmp_path / "artifacts").as_uri()
    pod = Settings(home=tmp_path / "pod", mlflow_tracking_uri=registry,
                   mlflow_artifact_root=artifacts, keep_drift_reports=1)  # fmt: skip
    ui = Settings(home=tmp_path / "ui", mlflow_tracking_uri=registry,
                  mlflow_artifact_root=artifacts)  # fmt: skip
    serving_pod, serving_ui = pod.reports_dir / "serving", ui.reports_dir / "serving"
    write_check(pod.reports_dir, "2026-12-08T10:00:00+00:00", "<html>market</html>")
    write_check(serving_pod, "2026-12-08T10:00:01+00:00", "<html>serving</html>")
    assert publish(pod, with_report=True)
    assert publish(pod, with_report=True, kind=SERVING, folder=serving_pod)
    assert fetch_latest(ui, kind=SERVING, folder=serving_ui) is True
    assert (serving_ui / "latest.html").read_text() == "<html>serving</html>"
    assert fetch_latest(ui) is True
    assert (ui.reports_dir / "latest.html").read_text() == "<html>market</html>"
    # pruning counts each kind on its own: keeping one of each leaves both pages
    write_check(serving_pod, "2026-12-08T11:00:00+00:00", "<html>serving 2</html>")
    assert publish(pod, with_report=True, kind=SERVING, folder=serving_pod)
    assert fetch_latest(ui, kind=SERVING, folder=serving_ui) is True
    assert (serving_ui / "latest.html").read_text() == "<html>serving 2</html>"
    pages = sorted(p.read_text() for p in (tmp_path / "artifacts").rglob("latest.html"))
    assert pages == ["<html>market</html>", "<html>serving 2</html>"]


def _run_with(settings: Settings, reference: pd.DataFrame | None, tags: dict[str, str]) -> Any:
    import mlflow

    configure(settings)
    with mlflow.start_run(tags=tags) as run:
        if reference is not None:
            folder = settings.home / "ref"
            folder.mkdir(parents=True, exist_ok=True)
            reference.to_parquet(folder / "reference.parquet", index=False)
            mlflow.log_artifact(str(folder / "reference.parquet"), artifact_path="reference")
    return run


def test_the_reference_is_read_from_the_models_run(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    rows = pd.DataFrame({"price": [1e5, 2e5], "state": ["Texas", "Ohio"]})
    run = _run_with(settings, rows, {"homeval.clean_max_id": "41"})
    found = load_reference(run.info.run_id)
    assert found is not None
    pd.testing.assert_frame_equal(found.rows, rows)
    assert (found.run_id, found.clean_max_id) == (run.info.run_id, 41)
    assert abs((datetime.now(UTC) - found.trained_at).total_seconds()) < 120
    untagged = load_reference(_run_with(settings, rows, {}).info.run_id)
    assert untagged is not None
    assert untagged.clean_max_id is None  # the check then compares by time
    assert load_reference(_run_with(settings, None, {}).info.run_id) is None
    with pytest.raises(DriftError, match="cannot read MLflow run"):
        load_reference("0" * 32)
