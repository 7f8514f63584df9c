"""Cluster mode against a real HTTP server playing the KFP API on loopback."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from homeval_contract.thresholds import Thresholds
from homeval_trigger.kfp_run import (
    ClusterOutcome,
    ClusterRunError,
    pipeline_parameters,
    submit_and_wait,
)

from tests.conftest import free_port
from tests.packages.contract.kfp_stub import API, KfpStub
from tests.pipelines.dags.conftest import LogLines

TaskLog = tuple[logging.Logger, LogLines]
VALUES = {
    "min_clean_rows": 500,
    "min_teacher_share": 0.7,
    "drift_share_threshold": 0.25,
    "collect_max_batches": 4,
}


def submit(
    stub: KfpStub, package: Path, log: logging.Logger, thresholds: Thresholds | None = None, **kw
) -> ClusterOutcome:
    options = {"poll_s": 0.01, "timeout_s": 30.0, **kw}
    return submit_and_wait(
        host=stub.host,
        package=package,
        thresholds=thresholds or Thresholds(),
        experiment="homeval-test",
        run_name="homeval manual__1",
        log=log,
        **options,
    )


def test_a_run_carries_the_compiled_pipeline_and_waits_until_it_succeeds(
    kfp_stub: KfpStub, compiled_pipeline: Path, task_log: TaskLog
) -> None:
    logger, lines = task_log
    accepted = pipeline_parameters(compiled_pipeline)
    thresholds = Thresholds(**{k: v for k, v in VALUES.items() if k in accepted})
    submitted: list[str] = []

    outcome = submit(kfp_stub, compiled_pipeline, logger, thresholds, on_submitted=submitted.append)

    assert outcome.succeeded
    assert outcome.state == "SUCCEEDED"
    assert submitted == [outcome.run_id]
    assert outcome.tasks == {"collect": "SUCCEEDED", "train": "SUCCEEDED"}
    (create,) = kfp_stub.created_runs()
    with compiled_pipeline.open() as stream:
        spec = next(yaml.safe_load_all(stream))
    sent = create.body["pipeline_spec"]
    sent = sent.get("pipeline_spec", sent)  # {pipeline_spec, platform_spec} when both exist
    assert sent == spec
    assert create.body["display_name"] == "homeval manual__1"
    assert create.body["runtime_config"]["parameters"] == thresholds.as_dict()
    assert create.body["experiment_id"] in kfp_stub.experiments
    assert [e["display_name"] for e in kfp_stub.experiments.values()] == ["homeval-test"]
    text = lines.text()
    for state in ("PENDING", "RUNNING", "SUCCEEDED"):
        assert f"KFP run {outcome.run_id} is {state}" in text


def test_the_stand_in_run_passes_its_thresholds_as_pipeline_arguments(
    kfp_stub: KfpStub, stand_in_pipeline: Path, task_log: TaskLog
) -> None:
    logger, _ = task_log
    thresholds = Thresholds(min_clean_rows=300, drift_share_threshold=0.4)
    submit(kfp_stub, stand_in_pipeline, logger, thresholds)
    submit(kfp_stub, stand_in_pipeline, logger, thresholds)
    first, second = kfp_stub.created_runs()
    assert first.body["runtime_config"]["parameters"] == {
        "min_clean_rows": 300,
        "drift_share_threshold": 0.4,
    }
    assert first.body["experiment_id"] == second.body["experiment_id"]
    assert len(kfp_stub.experiments) == 1, "the second run must reuse the experiment"


def test_a_failed_run_fails_with_its_state_and_error(
    kfp_stub: KfpStub, compiled_pipeline: Path, task_log: TaskLog
) -> None:
    logger, _ = task_log
    kfp_stub.states = ["RUNNING", "FAILED"]
    kfp_stub.error_message = "train: OOMKilled"
    with pytest.raises(ClusterRunError) as caught:
        submit(kfp_stub, compiled_pipeline, logger)
    assert caught.value.outcome is not None
    assert caught.value.outcome.state == "FAILED"
    assert caught.value.outcome.tasks["train"] == "FAILED"
    assert ": FAILED" in str(caught.value)
    assert "error: train: OOMKilled" in str(caught.value)


@pytest.mark.parametrize("state", ["CANCELED", "SKIPPED"])
def test_a_run_that_ended_without_succeeding_fails(
    kfp_stub: KfpStub, compiled_pipeline: Path, task_log: TaskLog, state: str
) -> None:
    kfp_stub.states = [state]
    with pytest.raises(ClusterRunError, match=state):
        submit(kfp_stub, compiled_pipeline, task_log[0])


def test_a_few_api_errors_while_waiting_are_ridden_out(
    kfp_stub: KfpStub, compiled_pipeline: Path, task_log: TaskLog
) -> None:
    logger, lines = task_log
    kfp_stub.failing_gets = 2
    assert submit(kfp_stub, compiled_pipeline, logger).succeeded
    assert "failed (2/5)" in lines.text()


def test_losing_the_api_while_waiting_fails_with_the_run_id(
    kfp_stub: KfpStub, compiled_pipeline: Path, task_log: TaskLog
) -> None:
    kfp_stub.failing_gets = 50
    with pytest.raises(ClusterRunError, match="lost the KFP API") as caught:
        submit(kfp_stub, compiled_pipeline, task_log[0])
    assert caught.value.outcome is not None
    assert caught.value.outcome.run_id in kfp_stub.runs


def test_a_run_past_the_deadline_is_terminated(
    kfp_stub: KfpStub, compiled_pipeline: Path, task_log: TaskLog
) -> None:
    kfp_stub.states = ["RUNNING"]
    with pytest.raises(ClusterRunError, match="still RUNNING after 0 s") as caught:
        submit(kfp_stub, compiled_pipeline, task_log[0], timeout_s=0.2)
    run_id = caught.value.outcome.run_id  # type: ignore[union-attr]
    terminated = [r for r in kfp_stub.requests if r.method == "POST" and ":terminate" in r.path]
    assert [r.path for r in terminated] == [f"{API}/runs/{run_id}:terminate"]
    assert "asked KFP to terminate it" in str(caught.value)


def test_a_run_that_cannot_be_terminated_says_it_may_still_run(
    kfp_stub: KfpStub, compiled_pipeline: Path, task_log: TaskLog
) -> None:
    kfp_stub.states = ["RUNNING"]
    kfp_stub.refuse_terminate = True
    with pytest.raises(ClusterRunError) as caught:
        submit(kfp_stub, compiled_pipeline, task_log[0], timeout_s=0.2)
    assert str(caught.value).endswith(
        'could not terminate it (HTTP 500 Internal Server Error: {"error": "terminate failed", '
        '"code": 13}); it may still be running'
    )


def test_thresholds_the_pipeline_does_not_take_are_refused_before_submitting(
    kfp_stub: KfpStub, stand_in_pipeline: Path, task_log: TaskLog
) -> None:
    with pytest.raises(ClusterRunError, match="takes no parameter named collect_max_batches"):
        submit(kfp_stub, stand_in_pipeline, task_log[0], Thresholds(collect_max_batches=2))
    assert kfp_stub.requests == []


def test_no_host_is_a_clear_error(compiled_pipeline: Path, task_log: TaskLog) -> None:
    with pytest.raises(ClusterRunError, match="set the kfp_host param"):
        submit_and_wait(
            host="",
            package=compiled_pipeline,
            thresholds=Thresholds(),
            experiment="e",
            run_name="r",
            poll_s=0.01,
            timeout_s=1,
            log=task_log[0],
        )


def test_a_missing_or_foreign_package_is_a_clear_error(
    kfp_stub: KfpStub, tmp_path: Path, task_log: TaskLog
) -> None:
    with pytest.raises(ClusterRunError, match="homeval pipeline compile"):
        submit(kfp_stub, tmp_path / "missing.yaml", task_log[0])
    foreign = tmp_path / "deployment.yaml"
    foreign.write_text("apiVersion: apps/v1\nkind: Deployment\n")
    with pytest.raises(ClusterRunError, match="not a compiled KFP pipeline"):
        submit(kfp_stub, foreign, task_log[0])
    broken = tmp_path / "broken.yaml"
    broken.write_text("root: [unclosed\n")
    with pytest.raises(ClusterRunError, match="not valid YAML"):
        submit(kfp_stub, broken, task_log[0])
    assert kfp_stub.requests == []


def test_an_unreachable_api_is_a_clear_error(compiled_pipeline: Path, task_log: TaskLog) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ClusterRunError, match="refused the run"):
        submit_and_wait(
            host=f"http://127.0.0.1:{port}",
            package=compiled_pipeline,
            thresholds=Thresholds(),
            experiment="e",
            run_name="r",
            poll_s=0.01,
            timeout_s=1,
            log=task_log[0],
        )


def test_the_stub_rejects_a_run_without_a_spec(kfp_stub: KfpStub) -> None:
    """The stub itself must be able to say no, or the spec assertion above proves little."""
    import httpx

    answer = httpx.post(f"{kfp_stub.host}{API}/runs", json={"display_name": "empty"})
    assert answer.status_code == 400


# --- what the run decided, read back from the platform's trainlogs ------------------------

RUN_ROWS = [  # what the pipeline's pods write while the run goes on (homeval.workflow.steps)
    ("collect", "collected", "collected 3 batches", {"inserted": 1200}, None),
    ("process", "processed", "cleaned", {"clean_total": 21000}, None),
    ("gates", "passed", "gates passed", {"clean_rows": 21000}, None),
    ("drift", "detected", "drift", {"detected": True, "drift_share": 0.4}, None),
    ("train", "trained", "lightgbm best", {"mdape": 0.16}, None),
    ("promote", "promoted", "v3 beats v2", {"mdape": 0.16}, "3"),
]


@pytest.fixture
def trainlogs_db(postgres_url: str, platform_bin: Path, tmp_path: Path) -> str:
    """A real PostgreSQL store with the platform's schemas, made by `homeval db init`."""
    env = {**os.environ, "HOMEVAL_DATABASE_URL": postgres_url, "HOMEVAL_HOME": str(tmp_path)}
    subprocess.run([str(platform_bin), "db", "init"], env=env, check=True, capture_output=True)
    return postgres_url


def _write_rows(database_url: str, run_id: str) -> None:
    engine = sa.create_engine(sa.make_url(database_url).set(drivername="postgresql+psycopg"))
    insert = sa.text(
        "INSERT INTO trainlogs.logs (time, step, status, message, metrics, model_version, "
        "pipeline_run) VALUES (now(), :step, :status, :message, CAST(:metrics AS JSON), "
        ":version, :run)"
    )
    with engine.begin() as conn:
        for step, status, message, metrics, version in RUN_ROWS:
            row = {"step": step, "status": status, "message": message, "version": version}
            conn.execute(insert, {**row, "metrics": json.dumps(metrics), "run": run_id})
    engine.dispose()


def test_a_cluster_run_says_what_it_decided(
    kfp_stub: KfpStub, compiled_pipeline: Path, task_log: TaskLog, trainlogs_db: str
) -> None:
    outcome = submit(
        kfp_stub,
        compiled_pipeline,
        task_log[0],
        on_submitted=lambda run_id: _write_rows(trainlogs_db, run_id),
        database_url=trainlogs_db,
    )
    assert outcome.decisions == {
        "collected_rows": 1200,
        "clean_rows": 21000,
        "drift_detected": True,
        "drift_share": 0.4,
        "trained": True,
        "promoted": True,
        "model_version": "3",
        "skip_reason": None,
    }
    assert outcome.to_dict()["decisions"]["model_version"] == "3"
    assert f"pipeline run {outcome.run_id} SUCCEEDED: trained, promoted model version 3" in (
        task_log[1].text()
    )


def test_an_unreadable_store_leaves_the_decisions_out_not_the_run(
    kfp_stub: KfpStub, compiled_pipeline: Path, task_log: TaskLog, trainlogs_db: str
) -> None:
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    outcome = submit(kfp_stub, compiled_pipeline, task_log[0], database_url=closed)
    assert outcome.succeeded
    assert outcome.decisions is None
    assert "cannot read run" in task_log[1].text()
    # a store that never heard of the run says so too
    outcome = submit(kfp_stub, compiled_pipeline, task_log[0], database_url=trainlogs_db)
    assert outcome.decisions is None
    assert f"the store has no trainlogs row of run {outcome.run_id}" in task_log[1].text()
