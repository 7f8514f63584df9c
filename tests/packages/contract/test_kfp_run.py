"""The one KFP submit/wait loop (the CLI's `pipeline submit` and the DAG's cluster mode),
against a real HTTP server playing the KFP API on loopback (no cluster here)."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from homeval_contract import kfp_run
from homeval_contract.kfp_run import (
    UNKNOWN_STATE,
    DeadlineError,
    KfpRun,
    SubmitError,
    package_parameters,
    submit_run,
)

from tests.conftest import REPO
from tests.packages.contract.kfp_stub import API, KfpStub, serve_kfp_stub

PACKAGE = REPO / "pipelines" / "house_price_pipeline.yaml"


@pytest.fixture
def stub() -> Iterator[KfpStub]:
    with serve_kfp_stub() as served:
        yield served


def run(stub: KfpStub, package: Path = PACKAGE, **kw: object) -> KfpRun:
    options: dict[str, object] = {"wait": True, "poll_s": 0.01, "timeout_s": 30.0, **kw}
    return submit_run(
        stub.host,
        package,
        {},
        experiment="e",
        run_name="r",
        **options,  # type: ignore[arg-type]
    )


def terminations(stub: KfpStub) -> list[str]:
    return [r.path for r in stub.requests if r.method == "POST" and r.path.endswith(":terminate")]


def test_the_run_is_followed_through_every_state(stub: KfpStub) -> None:
    heard: list[str] = []
    done = run(stub, on_state=lambda r: heard.append(r.state))
    assert done.succeeded
    assert done.finished
    assert heard == ["PENDING", "RUNNING", "SUCCEEDED"]
    assert done.tasks == {"collect": "SUCCEEDED", "train": "SUCCEEDED"}
    assert terminations(stub) == []


def test_a_failed_run_is_returned_not_raised(stub: KfpStub) -> None:
    stub.states = ["RUNNING", "FAILED"]
    stub.error_message = "train: OOMKilled"
    done = run(stub)
    assert (done.state, done.succeeded, done.finished) == ("FAILED", False, True)
    assert done.summary().endswith("error: train: OOMKilled")


def test_at_the_deadline_the_run_is_terminated(stub: KfpStub) -> None:
    stub.states = ["RUNNING"]
    with pytest.raises(DeadlineError, match="still RUNNING after 0 s") as caught:
        run(stub, timeout_s=0.2)
    assert caught.value.run is not None
    assert terminations(stub) == [f"{API}/runs/{caught.value.run.run_id}:terminate"]
    assert str(caught.value).endswith("stopped waiting and asked KFP to terminate it")


def test_a_refused_termination_is_said(stub: KfpStub, caplog: pytest.LogCaptureFixture) -> None:
    stub.states = ["RUNNING"]
    stub.refuse_terminate = True
    with caplog.at_level(logging.WARNING), pytest.raises(DeadlineError) as caught:
        run(stub, timeout_s=0.2)
    assert str(caught.value).endswith("it may still be running")
    assert "past its deadline: could not terminate it (HTTP 500" in caplog.text


def test_without_wait_the_run_is_left_to_itself(stub: KfpStub) -> None:
    created = run(stub, wait=False)
    assert created.state == "PENDING"  # as the API created it
    assert [r.path for r in stub.requests if r.path.startswith(f"{API}/runs/")] == []


def test_a_few_api_errors_are_ridden_out_more_are_not(
    stub: KfpStub, caplog: pytest.LogCaptureFixture
) -> None:
    stub.failing_gets = 2
    with caplog.at_level(logging.WARNING):
        assert run(stub).succeeded
    assert "failed (2/5)" in caplog.text
    stub.failing_gets = 50
    with pytest.raises(SubmitError, match="lost the KFP API") as caught:
        run(stub)
    assert caught.value.run is not None
    assert caught.value.run.run_id in stub.runs


def test_unknown_arguments_are_refused_before_anything_is_sent(stub: KfpStub) -> None:
    with pytest.raises(SubmitError, match="takes no parameter named typo_threshold"):
        submit_run(stub.host, PACKAGE, {"typo_threshold": 1}, experiment="e", run_name="r")
    assert stub.requests == []


def test_the_package_declares_the_thresholds_as_parameters() -> None:
    from homeval_contract.thresholds import THRESHOLDS

    assert set(THRESHOLDS) <= set(package_parameters(PACKAGE))


def test_a_state_the_api_left_out_has_one_name() -> None:
    assert kfp_run._state(SimpleNamespace(state=None)) == UNKNOWN_STATE
    assert kfp_run._state(None) == UNKNOWN_STATE
    details = SimpleNamespace(task_details=[SimpleNamespace(display_name="t", state=None)])
    assert kfp_run._tasks(SimpleNamespace(run_details=details)) == {"t": UNKNOWN_STATE}
    assert KfpRun("r", "h", "e", "n", {}).state == UNKNOWN_STATE == "RUNTIME_STATE_UNSPECIFIED"


def test_importing_the_contract_imports_nothing_heavy() -> None:
    """The DAG file imports it at parse time; kfp and PyYAML come only with a submission."""
    code = (
        "import sys, homeval_contract.kfp_run, homeval_contract.decisions, "
        "homeval_contract.thresholds, homeval_contract.result\n"
        "heavy = {'kfp', 'yaml', 'sqlalchemy', 'pydantic', 'homeval', 'urllib3'}\n"
        "heavy &= set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
