"""Each component function as KFP calls it: plain arguments, real artifacts, real services.

The functions run in this process here (KFP would run them in a container or a
subprocess), against the real feed simulator, a SQLite store and MLflow under the test's
HOMEVAL_HOME.  One scenario goes through the steps in order, because each step's input
is the previous step's effect on the store.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kfp.dsl import HTML, Metrics

from components.collect import collect
from components.drift import drift
from components.gates import gates
from components.process import process
from components.promote import promote
from components.train import train
from homeval.settings import Settings
from homeval.store import Store, raw_houses


def metrics(tmp_path: Path, name: str) -> Metrics:
    return Metrics(name=name, uri=str(tmp_path / name))


def html(tmp_path: Path, name: str) -> HTML:
    return HTML(name=name, uri=str(tmp_path / name))


def log_rows(run: str) -> list[tuple[str, str]]:
    store = Store.from_settings(Settings())
    log = store.training_log()
    store.dispose()
    mine = log[log["pipeline_run"] == run].iloc[::-1]
    return list(zip(mine["step"], mine["status"], strict=True))


@pytest.mark.slow
def test_the_steps_in_order(feed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # collect: 3 batches of 600 rows; the KFP job id names the run when none is given
    m = metrics(tmp_path, "collect")
    inserted = collect(max_batches=3, pipeline_run="", job_id="job-1", metrics=m)
    store = Store.from_settings(Settings())
    assert inserted == store.count(raw_houses) > 1_500
    assert m.metadata["batches"] == 3.0
    assert m.metadata["inserted"] == float(inserted)
    assert log_rows("job-1") == [("collect", "collected")]

    # process
    m = metrics(tmp_path, "process")
    clean = process(pipeline_run="run-1", job_id="job-1", metrics=m)
    assert 0 < clean <= inserted
    assert m.metadata["clean_total"] == float(clean)
    assert m.metadata["read"] == float(inserted)

    # gates: a negative threshold means the environment's setting
    monkeypatch.setenv("HOMEVAL_MIN_CLEAN_ROWS", str(clean + 1))
    assert not gates(min_clean_rows=-1, min_teacher_share=-1.0, pipeline_run="run-1", job_id="j")
    assert gates(min_clean_rows=clean, min_teacher_share=0.8, pipeline_run="run-1", job_id="j")
    assert log_rows("run-1") == [
        ("process", "processed"),
        ("gates", "skipped"),
        ("gates", "passed"),
    ]

    # drift without a production model: nothing to compare, so training is needed
    scores, report = metrics(tmp_path, "scores"), html(tmp_path, "report")
    assert drift(
        drift_share_threshold=-1.0, pipeline_run="run-1", job_id="j", scores=scores, report=report
    )
    assert "no production model yet" in Path(report.path).read_text()
    assert scores.metadata == {"drift_reference_rows": 0.0, "drift_current_rows": 0.0}

    # train: candidates with metrics per kind; the result is the promote step's input
    m = metrics(tmp_path, "train")
    result = json.loads(train(pipeline_run="run-1", job_id="j", metrics=m))
    kinds = {c["kind"] for c in result["candidates"]}
    assert kinds == {"lightgbm", "decision_tree"}
    assert result["pipeline_run"] == "run-1"
    assert 0 < m.metadata["lightgbm_mdape"] < 1
    assert "zip_median_mdape" in m.metadata

    # promote: the first model takes the alias
    m = metrics(tmp_path, "promote")
    decision = json.loads(
        promote(train_result=json.dumps(result), pipeline_run="run-1", job_id="j", metrics=m)
    )
    assert decision["promoted"] is True
    assert decision["version"] == "1"
    assert m.metadata["promoted"] == 1.0
    assert log_rows("run-1")[-3:] == [
        ("drift", "unknown"),
        ("train", "trained"),
        ("promote", "promoted"),
    ]

    # the next run, same market: drift is judged against the champion and finds none
    monkeypatch.setenv("HOMEVAL_DRIFT_MIN_ROWS", "500")
    collect(max_batches=3, pipeline_run="run-2", job_id="j", metrics=metrics(tmp_path, "c2"))
    process(pipeline_run="run-2", job_id="j", metrics=metrics(tmp_path, "p2"))
    scores, report = metrics(tmp_path, "scores2"), html(tmp_path, "report2")
    assert not drift(
        drift_share_threshold=-1.0, pipeline_run="run-2", job_id="j", scores=scores, report=report
    )
    assert scores.metadata["drift_share"] < 0.3
    assert scores.metadata["drift_current_rows"] > 500
    assert {"drift_log_price", "drift_state"} <= set(scores.metadata)
    assert "Drifted" in Path(report.path).read_text()  # Evidently's report
    assert log_rows("run-2")[-2:] == [("drift", "not_detected"), ("gates", "skipped")]
    store.dispose()
