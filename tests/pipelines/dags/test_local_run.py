"""Local mode's child process: streamed logs, thresholds passed on, failures that fail.

The executables here are stand-ins written by each test, because these are the paths the
real `homeval pipeline run` must not take on purpose (hang, crash, break its contract);
the real CLI runs end to end in test_dag.py.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from homeval_contract.thresholds import Thresholds
from homeval_trigger.local_run import PlatformRunError, run_platform_pipeline

from tests.pipelines.dags.conftest import LogLines

TaskLog = tuple[logging.Logger, LogLines]
FakePlatform = Callable[[str], Path]


def result_line(state: str = "SUCCEEDED", run_id: str = "run-1", **decisions: object) -> str:
    base: dict[str, object] = {
        "collected_rows": 100,
        "clean_rows": 90,
        "drift_detected": None,
        "drift_share": None,
        "trained": True,
        "promoted": True,
        "model_version": "1",
        "skip_reason": None,
    }
    return json.dumps({"run_id": run_id, "state": state, "decisions": {**base, **decisions}})


def test_stderr_reaches_the_log_while_the_child_still_runs(
    fake_platform: FakePlatform, task_log: TaskLog, tmp_path: Path
) -> None:
    """The child waits for proof that its first line was logged before it finishes."""
    logger, lines = task_log
    go = tmp_path / "go"
    platform = fake_platform(
        f"""
        echo "collect: batch 1 of 3" >&2
        i=0
        while [ ! -e "{go}" ]; do
          i=$((i+1)); [ $i -gt 200 ] && {{ echo "never saw my line logged" >&2; exit 3; }}
          sleep 0.05
        done
        echo "collect: done" >&2
        echo 'progress line on stdout'
        echo '{result_line()}'
        """
    )

    def release(line: str) -> None:
        if "collect: batch 1 of 3" in line:
            go.touch()

    lines.on_line = release
    outcome = run_platform_pipeline(str(platform), Thresholds(), logger, timeout_s=30)

    assert outcome.run_id == "run-1"
    assert outcome.decisions.promoted
    text = lines.text()
    assert text.index("homeval | collect: batch 1 of 3") < text.index("homeval | collect: done")
    assert "homeval stdout | progress line on stdout" in text
    assert "thresholds: platform defaults" in text


def test_thresholds_reach_the_child_as_homeval_variables(
    fake_platform: FakePlatform, task_log: TaskLog
) -> None:
    logger, lines = task_log
    platform = fake_platform(
        f"""
        echo "min=$HOMEVAL_MIN_CLEAN_ROWS share=$HOMEVAL_MIN_TEACHER_SHARE" >&2
        echo "drift=$HOMEVAL_DRIFT_SHARE_THRESHOLD batches=$HOMEVAL_COLLECT_MAX_BATCHES" >&2
        echo "args=$*" >&2
        echo '{result_line()}'
        """
    )
    thresholds = Thresholds(
        min_clean_rows=250, min_teacher_share=0.9, drift_share_threshold=0.3, collect_max_batches=2
    )
    run_platform_pipeline(str(platform), thresholds, logger, timeout_s=30)
    text = lines.text()
    assert "homeval | min=250 share=0.9" in text
    assert "homeval | drift=0.3 batches=2" in text
    assert "homeval | args=pipeline run --json" in text


def test_a_failed_pipeline_fails_with_its_run_id_and_last_logs(
    fake_platform: FakePlatform, task_log: TaskLog
) -> None:
    logger, _ = task_log
    failed = result_line(
        "FAILED", run_id="run-9", trained=False, promoted=False, model_version=None
    )
    platform = fake_platform(
        f"""
        echo "train: LightGBM ran out of memory" >&2
        echo '{failed}'
        exit 1
        """
    )
    with pytest.raises(PlatformRunError) as caught:
        run_platform_pipeline(str(platform), Thresholds(), logger, timeout_s=30)
    assert "pipeline run run-9 FAILED (exit code 1)" in str(caught.value)
    assert "LightGBM ran out of memory" in str(caught.value)
    assert caught.value.outcome is not None
    assert caught.value.outcome.run_id == "run-9"


def test_a_crash_without_a_result_fails_with_the_exit_code(
    fake_platform: FakePlatform, task_log: TaskLog
) -> None:
    logger, _ = task_log
    platform = fake_platform(
        """
        echo "Traceback (most recent call last):" >&2
        echo "RuntimeError: store unreachable" >&2
        exit 2
        """
    )
    with pytest.raises(
        PlatformRunError, match="exited with code 2 and printed no result"
    ) as caught:
        run_platform_pipeline(str(platform), Thresholds(), logger, timeout_s=30)
    assert "RuntimeError: store unreachable" in str(caught.value)
    assert caught.value.outcome is None


def test_a_crash_whose_last_line_is_not_the_result_fails_with_the_exit_code(
    fake_platform: FakePlatform, task_log: TaskLog
) -> None:
    logger, _ = task_log
    platform = fake_platform(
        """
        echo "half a progress bar"
        echo "killed" >&2
        exit 137
        """
    )
    with pytest.raises(PlatformRunError, match="exited with code 137"):
        run_platform_pipeline(str(platform), Thresholds(), logger, timeout_s=30)


def test_success_without_a_valid_result_breaks_the_contract(
    fake_platform: FakePlatform, task_log: TaskLog
) -> None:
    logger, _ = task_log
    platform = fake_platform("""echo '{"run_id": "r", "state": "SUCCEEDED"}'""")
    with pytest.raises(PlatformRunError, match="broke its --json contract: result has no field"):
        run_platform_pipeline(str(platform), Thresholds(), logger, timeout_s=30)


def test_exit_zero_with_a_failed_state_still_fails(
    fake_platform: FakePlatform, task_log: TaskLog
) -> None:
    logger, _ = task_log
    platform = fake_platform(f"echo '{result_line('FAILED', run_id='run-3')}'")
    with pytest.raises(PlatformRunError, match="pipeline run run-3 FAILED \\(exit code 0\\)"):
        run_platform_pipeline(str(platform), Thresholds(), logger, timeout_s=30)


def test_a_missing_executable_says_which_variable_to_set(task_log: TaskLog, tmp_path: Path) -> None:
    logger, _ = task_log
    with pytest.raises(PlatformRunError, match="set HOMEVAL_PLATFORM_BIN"):
        run_platform_pipeline(str(tmp_path / "nowhere" / "homeval"), Thresholds(), logger, 30)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0): look at its state
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def test_a_run_past_its_deadline_is_stopped_with_everything_it_started(
    fake_platform: FakePlatform, task_log: TaskLog, tmp_path: Path
) -> None:
    logger, _ = task_log
    pid_file = tmp_path / "grandchild.pid"
    platform = fake_platform(
        f"""
        sleep 300 &
        echo $! > "{pid_file}"
        echo "component started" >&2
        sleep 300
        """
    )
    started = time.monotonic()
    with pytest.raises(PlatformRunError, match="did not finish within 1 s and was stopped"):
        run_platform_pipeline(str(platform), Thresholds(), logger, timeout_s=1)
    assert time.monotonic() - started < 20
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild), "the component process the pipeline started outlived it"
