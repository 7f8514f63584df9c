"""`homeval pipeline submit` against the KFP API stub on loopback (no cluster here)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pipelines.compile import PACKAGE
from tests.packages.contract.kfp_stub import API, KfpStub, serve_kfp_stub

HOMEVAL = str(Path(sys.executable).parent / "homeval")


@pytest.fixture
def api() -> Iterator[KfpStub]:
    with serve_kfp_stub() as stub:
        yield stub


def submit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HOMEVAL, "pipeline", "submit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_submit_sends_the_committed_pipeline_with_the_run_params(api: KfpStub) -> None:
    result = submit(
        "--host",
        api.host,
        "--min-clean-rows",
        "300",
        "--drift-share-threshold",
        "0.4",
        "--experiment",
        "nightly",
        "--run-name",
        "homeval test",
    )
    assert result.returncode == 0, result.stderr
    (run_id,) = api.runs
    assert f"run {run_id} (homeval test)" in result.stdout
    experiments = [c for c in api.requests if c.path == f"{API}/experiments" and c.method == "POST"]
    assert [c.body["display_name"] for c in experiments] == ["nightly"]
    (run,) = api.created_runs()
    assert run.body["display_name"] == "homeval test"
    assert run.body["experiment_id"] in api.experiments
    assert run.body["runtime_config"]["parameters"] == {
        "min_clean_rows": 300,
        "drift_share_threshold": 0.4,
    }
    committed = list(yaml.safe_load_all(PACKAGE.read_text()))
    assert run.body["pipeline_spec"]["pipeline_spec"] == committed[0]
    assert run.body["pipeline_spec"]["platform_spec"] == committed[1]
    assert not [c for c in api.requests if c.path.startswith(f"{API}/runs/")]  # no --wait


def test_wait_follows_the_run_to_success(api: KfpStub) -> None:
    api.states = ["PENDING", "RUNNING", "RUNNING", "SUCCEEDED"]
    result = submit("--host", api.host, "--wait", "--poll", "0.05")
    assert result.returncode == 0, result.stderr
    (run_id,) = api.runs
    polls = [c for c in api.requests if c.path == f"{API}/runs/{run_id}"]
    assert len(polls) == 4
    assert f"run {run_id}: RUNNING" in result.stderr
    assert "SUCCEEDED" in result.stdout


def test_wait_exits_non_zero_when_the_run_fails(api: KfpStub) -> None:
    api.states = ["RUNNING", "FAILED"]
    api.error_message = "step train failed"
    result = submit("--host", api.host, "--wait", "--poll", "0.05")
    (run_id,) = api.runs
    assert result.returncode == 1
    assert f"run {run_id} ended FAILED: step train failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_wait_terminates_the_run_at_the_deadline(api: KfpStub) -> None:
    """The deadline policy the DAG follows too: the run is terminated, not left running."""
    api.states = ["RUNNING"]
    result = submit("--host", api.host, "--wait", "--poll", "0.05", "--timeout", "1")
    assert result.returncode == 1
    (run_id,) = api.runs
    terminated = [
        c.path for c in api.requests if c.method == "POST" and c.path.endswith(":terminate")
    ]
    assert terminated == [f"{API}/runs/{run_id}:terminate"]
    message = " ".join(result.stderr.split())
    assert f"{run_id} still RUNNING after 1 s; stopped waiting and asked KFP to terminate it" in (
        message
    )
    assert "Traceback" not in result.stderr


def test_the_host_can_come_from_settings(api: KfpStub) -> None:
    result = submit(env={"HOMEVAL_KFP_HOST": api.host})
    assert result.returncode == 0, result.stderr
    assert len(api.created_runs()) == 1


def test_a_refused_run_is_a_clear_failure(api: KfpStub) -> None:
    api.refuse_runs = True
    result = submit("--host", api.host)
    assert result.returncode == 1
    assert f"KFP API at {api.host} refused the run" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_api_is_a_clear_failure() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = submit("--host", f"http://127.0.0.1:{port}")
    assert result.returncode == 1
    assert "refused the run" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "no KFP host"),
        (("--host", "notaurl"), "must start with http:// or https://, got 'notaurl'"),
        (("--host", "http://127.0.0.1:9", "--package", "/nonexistent/p.yaml"), "no compiled"),
        (("--host", "http://127.0.0.1:9", "--min-teacher-share", "1.5"), "--min-teacher-share"),
    ],
)
def test_bad_input_exits_2(args: tuple[str, ...], message: str) -> None:
    result = submit(*args, env={"HOMEVAL_KFP_HOST": ""})
    assert result.returncode == 2
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert "Warning" not in result.stderr, "homeval's error alone, no library warning"
