"""Drift reports cross machines through MLflow: the pipeline pod publishes, the UI fetches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from homeval.drift.reports import fetch_latest, publish
from homeval.platform.settings import Settings


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
