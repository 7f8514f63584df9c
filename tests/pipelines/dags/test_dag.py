"""The DAG itself: it imports cleanly, and dag.test() runs it in each mode to its end.

dag.test() does not raise when a task fails, so every run here is judged by the final
state of the DagRun and of each task instance, by the XComs the tasks left, and by what
the tasks logged (dag.test() runs tasks in this process, so their log is our output).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.packages.contract.kfp_stub import KfpStub
from tests.pipelines.dags.conftest import DAG_FILE, DAGS_FOLDER

DAG_ID = "homeval_pipeline"
FakePlatform = Callable[[str], Path]


def load_dag() -> Any:
    """Parse the DAG file as the DAG processor does (fresh, with the current environment)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=DAG_FILE)
    assert bag.import_errors == {}
    return bag.dags[DAG_ID]


def states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def xcoms(dag_run: Any) -> dict[tuple[str, str], Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(XComModel.get_many(run_id=dag_run.run_id, dag_ids=DAG_ID)).all()
        return {(r.task_id, r.key): XComModel.deserialize_value(r) for r in rows}


@pytest.fixture
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEVAL_KFP_POLL_S", "0.01")


# --- the DAG file ------------------------------------------------------------------------


def test_the_dags_folder_imports_without_errors(airflow_db: Path) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=DAGS_FOLDER)
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == [DAG_ID]
    parsed = {Path(stat.file).name for stat in bag.dagbag_stats}
    assert parsed == {"homeval_pipeline.py"}, "helpers in homeval_trigger/ must not be parsed"


def test_the_dag_branches_to_one_runner_and_reports(airflow_db: Path) -> None:
    dag = load_dag()
    assert set(dag.task_dict) == {"choose_runner", "run_local", "run_on_kfp", "report_outcome"}
    assert dag.task_dict["choose_runner"].downstream_task_ids == {"run_local", "run_on_kfp"}
    assert dag.task_dict["report_outcome"].upstream_task_ids == {"run_local", "run_on_kfp"}
    assert dag.task_dict["report_outcome"].trigger_rule == "none_failed_min_one_success"
    assert dag.max_active_runs == 1
    assert not dag.catchup


def test_schedule_and_defaults_of_params_come_from_the_environment(
    airflow_db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOMEVAL_DAG_SCHEDULE", "0 3 * * *")
    monkeypatch.setenv("HOMEVAL_DAG_MODE", "cluster")
    monkeypatch.setenv("HOMEVAL_KFP_HOST", "http://127.0.0.1:1")
    monkeypatch.setenv("HOMEVAL_PIPELINE_PACKAGE", str(tmp_path / "p.yaml"))
    dag = load_dag()
    assert dag.schedule == "0 3 * * *"
    params = dag.params.dump()
    assert params["mode"] == "cluster"
    assert params["kfp_host"] == "http://127.0.0.1:1"
    assert params["pipeline_package"] == str(tmp_path / "p.yaml")
    for name in ("min_clean_rows", "min_teacher_share", "drift_share_threshold"):
        assert params[name] is None, f"{name} must default to the platform's own setting"
    assert params["collect_max_batches"] is None


@pytest.mark.parametrize(
    ("conf", "named"),
    [
        ({"mode": "kubernetes"}, "mode"),
        ({"min_clean_rows": -5}, "min_clean_rows"),
        ({"min_teacher_share": 1.5}, "min_teacher_share"),
        ({"drift_share_threshold": "high"}, "drift_share_threshold"),
        ({"collect_max_batches": 0}, "collect_max_batches"),
    ],
)
def test_bad_params_are_refused_before_a_run_starts(
    airflow_db: Path, conf: dict[str, Any], named: str
) -> None:
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError, match=f"Invalid input for param {named}"):
        load_dag().test(run_conf=conf)


# --- local mode --------------------------------------------------------------------------

FAILED_RESULT = json.dumps(
    {
        "run_id": "run-9",
        "state": "FAILED",
        "decisions": {
            "collected_rows": 5000,
            "clean_rows": 4800,
            "drift_detected": None,
            "drift_share": None,
            "trained": False,
            "promoted": False,
            "model_version": None,
            "skip_reason": None,
        },
    }
)


@pytest.mark.slow
def test_local_mode_runs_the_real_pipeline_end_to_end(
    airflow_db: Path,
    platform_bin: Path,
    feed: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The real `homeval pipeline run --json` (KFP's local runner) against the real feed.

    A first run on an empty platform: enough clean rows (the gate lowered for small data)
    and no production model yet, so it trains and promotes version 1.
    """
    monkeypatch.setenv("HOMEVAL_PLATFORM_BIN", str(platform_bin))
    home = Path(os.environ["HOMEVAL_HOME"])

    dag_run = load_dag().test(run_conf={"min_clean_rows": 1000, "collect_max_batches": 3})

    assert str(dag_run.state) == "success", caplog.text[-3000:]
    assert states(dag_run) == {
        "choose_runner": "success",
        "run_local": "success",
        "run_on_kfp": "skipped",
        "report_outcome": "success",
    }
    values = xcoms(dag_run)
    outcome = values[("report_outcome", "return_value")]
    assert outcome == values[("run_local", "outcome")] == values[("run_local", "return_value")]
    assert outcome["mode"] == "local"
    assert outcome["state"] == "SUCCEEDED"
    decisions = outcome["decisions"]
    assert 2000 < decisions["collected_rows"] <= 3000, "three batches of 1000 rows from the feed"
    assert 1000 <= decisions["clean_rows"] <= decisions["collected_rows"]
    assert decisions["trained"] is True
    assert decisions["promoted"] is True
    assert decisions["model_version"] == "1"
    assert decisions["skip_reason"] is None
    # the platform really ran the pipeline, with the thresholds it was given, in its home
    assert any((home / "kfp").glob("house-price-pipeline-*/promote"))
    log = caplog.text
    assert "HOMEVAL_COLLECT_MAX_BATCHES=3 HOMEVAL_MIN_CLEAN_ROWS=1000" in log
    assert "homeval | " in log
    assert "Task 'promote' finished with status SUCCESS" in log, "the child's logs are streamed"
    assert f"pipeline run {outcome['run_id']} SUCCEEDED: trained, promoted model version 1" in log


def test_local_mode_fails_the_task_and_the_run_when_the_pipeline_fails(
    airflow_db: Path,
    fake_platform: FakePlatform,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    platform = fake_platform(
        f"""
        echo "drift: evidently report written" >&2
        echo "train: LightGBM ran out of memory" >&2
        echo '{FAILED_RESULT}'
        exit 1
        """
    )
    monkeypatch.setenv("HOMEVAL_PLATFORM_BIN", str(platform))

    dag_run = load_dag().test(run_conf={"min_clean_rows": 100})

    assert str(dag_run.state) == "failed"
    assert states(dag_run) == {
        "choose_runner": "success",
        "run_local": "failed",
        "run_on_kfp": "skipped",
        "report_outcome": "upstream_failed",
    }
    outcome = xcoms(dag_run)[("run_local", "outcome")]
    assert outcome["run_id"] == "run-9"
    assert outcome["state"] == "FAILED"
    assert outcome["decisions"]["trained"] is False
    log = caplog.text
    assert "HOMEVAL_MIN_CLEAN_ROWS=100" in log
    assert "homeval | train: LightGBM ran out of memory" in log
    assert "pipeline run run-9 FAILED (exit code 1)" in log


def test_local_mode_fails_clearly_when_the_platform_is_not_installed(
    airflow_db: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("HOMEVAL_PLATFORM_BIN", str(tmp_path / "no-venv" / "bin" / "homeval"))
    dag_run = load_dag().test()
    assert str(dag_run.state) == "failed"
    assert states(dag_run)["run_local"] == "failed"
    assert "set HOMEVAL_PLATFORM_BIN" in caplog.text


# --- cluster mode ------------------------------------------------------------------------


def cluster_conf(stub: KfpStub, package: Path, **extra: Any) -> dict[str, Any]:
    return {"mode": "cluster", "kfp_host": stub.host, "pipeline_package": str(package), **extra}


def test_cluster_mode_submits_the_compiled_pipeline_and_reports_the_run(
    airflow_db: Path,
    fast_polls: None,
    kfp_stub: KfpStub,
    compiled_pipeline: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import yaml

    dag_run = load_dag().test(run_conf=cluster_conf(kfp_stub, compiled_pipeline))

    assert str(dag_run.state) == "success"
    assert states(dag_run) == {
        "choose_runner": "success",
        "run_local": "skipped",
        "run_on_kfp": "success",
        "report_outcome": "success",
    }
    (create,) = kfp_stub.created_runs()
    with compiled_pipeline.open() as stream:
        spec = next(yaml.safe_load_all(stream))
    sent = create.body["pipeline_spec"]
    assert sent.get("pipeline_spec", sent) == spec
    assert create.body["display_name"] == f"homeval {dag_run.run_id}"
    (run_id,) = kfp_stub.runs
    values = xcoms(dag_run)
    assert values[("run_on_kfp", "kfp_run_id")] == run_id
    assert values[("run_on_kfp", "return_value")]["state"] == "SUCCEEDED"
    report = values[("report_outcome", "return_value")]
    assert (report["mode"], report["run_id"], report["state"]) == ("cluster", run_id, "SUCCEEDED")
    assert report["tasks"] == {"collect": "SUCCEEDED", "train": "SUCCEEDED"}
    log = caplog.text
    assert f"KFP run {run_id} is RUNNING" in log
    assert f"homeval pipeline (cluster) run {run_id}: SUCCEEDED" in log


def test_cluster_mode_passes_thresholds_as_pipeline_arguments(
    airflow_db: Path, fast_polls: None, kfp_stub: KfpStub, compiled_pipeline: Path
) -> None:
    conf = cluster_conf(kfp_stub, compiled_pipeline, min_clean_rows=1234, min_teacher_share=0.6)
    dag_run = load_dag().test(run_conf=conf)
    assert str(dag_run.state) == "success"
    (create,) = kfp_stub.created_runs()
    assert create.body["runtime_config"]["parameters"] == {
        "min_clean_rows": 1234,
        "min_teacher_share": 0.6,
    }


def test_a_run_the_kfp_api_reports_failed_fails_the_task(
    airflow_db: Path,
    fast_polls: None,
    kfp_stub: KfpStub,
    compiled_pipeline: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    kfp_stub.states = ["PENDING", "RUNNING", "FAILED"]
    kfp_stub.error_message = "train: pod OOMKilled"

    dag_run = load_dag().test(run_conf=cluster_conf(kfp_stub, compiled_pipeline))

    assert str(dag_run.state) == "failed"
    assert states(dag_run) == {
        "choose_runner": "success",
        "run_local": "skipped",
        "run_on_kfp": "failed",
        "report_outcome": "upstream_failed",
    }
    (run_id,) = kfp_stub.runs
    values = xcoms(dag_run)
    assert values[("run_on_kfp", "kfp_run_id")] == run_id
    assert values[("run_on_kfp", "outcome")]["state"] == "FAILED"
    assert ("run_on_kfp", "return_value") not in values
    log = caplog.text
    assert f"KFP run {run_id} is FAILED" in log
    assert "error: train: pod OOMKilled" in log


def test_cluster_mode_without_a_host_fails_clearly(
    airflow_db: Path, compiled_pipeline: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dag_run = load_dag().test(
        run_conf={"mode": "cluster", "kfp_host": "", "pipeline_package": str(compiled_pipeline)}
    )
    assert str(dag_run.state) == "failed"
    assert states(dag_run)["run_on_kfp"] == "failed"
    assert "no KFP host: set the kfp_host param" in caplog.text
