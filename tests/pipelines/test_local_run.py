"""The whole pipeline, locally, end to end: `homeval pipeline run --json` as the DAG runs it.

A real feed simulator on a free loopback port serves generated listings whose drift
schedule starts at batch 6 (state mix and price level move).  Each run collects three
batches: the first run has no champion and promotes one, the second sees the same market
and skips training (and says why), the third sees the drifted batches and retrains.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from homeval.data.store import Store
from homeval.drift.report import REPORT_NAME, SCORES_NAME
from homeval.platform.settings import Settings
from tests.components.conftest import FAST_TRAINING
from tests.datasource.server import running_feed

HOMEVAL = str(Path(sys.executable).parent / "homeval")
BATCH = 1_000


def run_pipeline(env: dict[str, str], *args: str) -> tuple[int, dict[str, Any], str]:
    """Exit code, the JSON result (the only stdout line), and stderr."""
    done = subprocess.run(
        [HOMEVAL, "pipeline", "run", "--json", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **env},
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"stdout must be one JSON line, got: {done.stdout[-2000:]}"
    return done.returncode, json.loads(lines[-1]), done.stderr


@pytest.fixture
def feed_env() -> Iterator[dict[str, str]]:
    with running_feed(
        datasource_batch_size=BATCH,
        datasource_batches=12,
        datasource_drift_start_batch=6,
        datasource_drift_states="CA:0.6,NY:0.3",
        datasource_price_shift_per_batch=0.1,
    ) as (url, _app):
        yield {
            "HOMEVAL_FEED_URL": url,
            "HOMEVAL_FEED_RETRIES": "0",
            "HOMEVAL_COLLECT_MAX_BATCHES": "3",
            "HOMEVAL_MIN_CLEAN_ROWS": "2000",
            "HOMEVAL_DRIFT_MIN_ROWS": "1000",
            "HOMEVAL_KEEP_LOCAL_RUNS": "2",
            **FAST_TRAINING,
        }


def log_of(run_id: str) -> list[dict[str, Any]]:
    store = Store.from_settings(Settings())
    rows = store.training_log()
    store.dispose()
    return rows[rows["pipeline_run"] == run_id].iloc[::-1].to_dict(orient="records")


@pytest.mark.slow
def test_first_run_promotes_same_market_skips_drift_retrains(feed_env: dict[str, str]) -> None:
    # 1. no champion yet: train and promote
    code, first, stderr = run_pipeline(feed_env)
    assert code == 0, stderr[-3000:]
    assert first["state"] == "SUCCEEDED"
    assert first["run_id"].startswith("local-")
    d = first["decisions"]
    assert 2 * BATCH < d["collected_rows"] <= 3 * BATCH
    assert 2_000 <= d["clean_rows"] <= d["collected_rows"]
    assert d["drift_detected"] is None
    assert d["drift_share"] is None
    steps = [(r["step"], r["status"]) for r in log_of(first["run_id"])]
    why = f"{d}\n{steps}\n{stderr[-4000:]}"
    assert (d["trained"], d["promoted"], d["model_version"]) == (True, True, "1"), why
    assert d["skip_reason"] is None
    assert steps == [
        ("collect", "collected"),
        ("process", "processed"),
        ("gates", "passed"),
        ("drift", "unknown"),
        ("train", "trained"),
        ("promote", "promoted"),
    ]
    assert "train: success" in stderr  # progress on stderr
    assert "no effect in the current local runner" not in stderr  # cluster-only settings

    # 2. the same market: drift is judged and not found, training is skipped (and logged)
    code, second, stderr = run_pipeline(feed_env)
    assert code == 0, stderr[-3000:]
    assert second["state"] == "SUCCEEDED"
    d = second["decisions"]
    assert d["drift_detected"] is False
    assert d["drift_share"] < 0.3
    assert (d["trained"], d["promoted"], d["model_version"]) == (False, False, None)
    assert d["skip_reason"].startswith("no drift since the production model")
    skipped = [r for r in log_of(second["run_id"]) if r["status"] == "skipped"]
    assert [r["message"] for r in skipped] == [f"training skipped: {d['skip_reason']}"]
    assert "train: not run" in stderr

    # 3. the feed drifts (state mix, price level): drift detected, a challenger is trained
    code, third, stderr = run_pipeline(feed_env)
    assert code == 0, stderr[-3000:]
    d = third["decisions"]
    assert d["drift_detected"] is True
    assert d["drift_share"] >= 0.3
    assert d["trained"] is True
    assert d["model_version"] == ("2" if d["promoted"] else "1")
    assert d["skip_reason"] is None
    drift_row = next(r for r in log_of(third["run_id"]) if r["step"] == "drift")
    assert drift_row["status"] == "detected"
    assert drift_row["metrics"]["drift_state"] >= 0.1

    # one report per run, but only the newest HOMEVAL_KEEP_LOCAL_RUNS=2 of each kind stay,
    # and as many of the runs' KFP output folders
    reports = Settings().reports_dir
    assert (reports / REPORT_NAME).is_file()
    assert (reports / "serving" / SCORES_NAME).is_file(), "serving drift checked beside it"
    assert len(list(reports.glob("drift-*.json"))) == 2
    assert len(list(reports.glob("drift-*.html"))) == 2  # runs 2 and 3 had a reference
    run_folders = [p for p in Settings().pipeline_root.iterdir() if not p.name.startswith(".")]
    assert len(run_folders) == 2, run_folders


def test_a_failing_step_fails_the_run_with_a_result_line() -> None:
    with socket.socket() as sock:  # a feed address nobody answers on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, result, stderr = run_pipeline(
        {"HOMEVAL_FEED_URL": f"http://127.0.0.1:{port}", "HOMEVAL_FEED_RETRIES": "0"}
    )
    assert code == 1
    assert result["state"] == "FAILED"
    assert result["decisions"]["collected_rows"] == 0
    assert result["decisions"]["trained"] is False
    assert "pipeline failed" in stderr
    assert "collect" in stderr


def test_an_unreachable_store_fails_the_run_with_a_result_line() -> None:
    with socket.socket() as sock:  # a database port nobody answers on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, result, stderr = run_pipeline(
        {"HOMEVAL_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{port}/none"}
    )
    assert code == 1
    assert result["state"] == "FAILED"
    assert result["decisions"]["trained"] is False
    assert "Traceback" not in stderr.split("pipeline failed")[-1]


def test_thresholds_given_on_the_command_line_reach_the_gates(feed_env: dict[str, str]) -> None:
    code, result, stderr = run_pipeline(feed_env, "--min-clean-rows", "999999")
    assert code == 0, stderr[-3000:]
    d = result["decisions"]
    assert d["trained"] is False
    assert d["skip_reason"].endswith("999,999 needed to train")
    assert "drift: not run" in stderr


def test_step_logs_can_go_to_a_file(feed_env: dict[str, str], tmp_path: Path) -> None:
    """How `homeval up` runs it: progress on the terminal, the steps' chatter in a file."""
    log = tmp_path / "logs" / "pipeline.log"
    log.parent.mkdir()
    code, _, stderr = run_pipeline(feed_env, "--min-clean-rows", "999999", "--log", str(log))
    assert code == 0, stderr[-3000:]
    assert "Executing task 'collect'" in log.read_text()
    assert "Executing task" not in stderr
    assert "collect: success" in stderr


def test_bad_thresholds_exit_2_before_running() -> None:
    done = subprocess.run(
        [HOMEVAL, "pipeline", "run", "--json", "--min-teacher-share", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "--min-teacher-share" in done.stderr
    assert done.stdout == ""
