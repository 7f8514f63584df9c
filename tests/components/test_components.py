"""Each component function as KFP calls it: plain arguments, real artifacts, real services.

The functions run in this process here (KFP would run them in a container or a
subprocess), against the real feed simulator, a SQLite store and MLflow under a
HOMEVAL_HOME of this module.  The steps run once, in order, because each step's input is
the previous step's effect on the store; what each step did is recorded, and each step
is then judged by a test of its own, so a step that does the wrong thing does not hide
what the others did (a step that raises stops the ones after it, and their tests say so).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kfp.dsl import HTML, Metrics

from components.collect import collect
from components.drift import drift
from components.gates import gates
from components.process import process
from components.promote import promote
from components.train import train
from homeval.data.store import Store
from homeval.data.tables import raw_houses
from homeval.platform.settings import Settings
from tests.components.conftest import FAST_TRAINING
from tests.conftest import is_platform_setting
from tests.datasource.server import running_feed

pytestmark = pytest.mark.slow


def log_rows(run: str) -> list[tuple[str, str]]:
    store = Store.from_settings(Settings())
    log = store.training_log()
    store.dispose()
    mine = log[log["pipeline_run"] == run].iloc[::-1]
    return list(zip(mine["step"], mine["status"], strict=True))


@dataclass
class Steps:
    """What each step returned and wrote, by name; the first exception stops the rest."""

    folder: Path
    seen: dict[str, Any] = field(default_factory=dict)
    failed: str | None = None

    def metrics(self, name: str) -> Metrics:
        return Metrics(name=name, uri=str(self.folder / name))

    def html(self, name: str) -> HTML:
        return HTML(name=name, uri=str(self.folder / name))

    def run(self, name: str, call: Callable[[], dict[str, Any]]) -> None:
        if self.failed is not None:
            return
        try:
            self.seen[name] = call()
        except Exception as exc:  # recorded, and reported by that step's test
            self.failed = name
            self.seen[name] = exc

    def __getitem__(self, name: str) -> dict[str, Any]:
        outcome = self.seen.get(name)
        if isinstance(outcome, Exception):
            pytest.fail(f"{name} raised {type(outcome).__name__}: {outcome}")
        if outcome is None:
            pytest.fail(f"{name} did not run: {self.failed} raised before it")
        return outcome


def _scenario(steps: Steps) -> None:
    def collect_first() -> dict[str, Any]:
        # 3 batches of 600 rows; the KFP job id names the run when none is given
        m = steps.metrics("collect")
        inserted = collect(max_batches=3, pipeline_run="", job_id="job-1", metrics=m)
        stored = Store.from_settings(Settings())
        rows = stored.count(raw_houses)
        stored.dispose()
        return {"inserted": inserted, "stored": rows, "metrics": m.metadata,
                "log": log_rows("job-1")}  # fmt: skip

    def process_first() -> dict[str, Any]:
        m = steps.metrics("process")
        return {"clean": process(pipeline_run="run-1", job_id="job-1", metrics=m),
                "metrics": m.metadata}  # fmt: skip

    def gate_first() -> dict[str, Any]:
        clean = steps.seen["process"]["clean"]
        # a negative threshold means the environment's setting
        os.environ["HOMEVAL_MIN_CLEAN_ROWS"] = str(clean + 1)
        below = gates(min_clean_rows=-1, min_teacher_share=-1.0, pipeline_run="run-1", job_id="j")
        at = gates(min_clean_rows=clean, min_teacher_share=0.8, pipeline_run="run-1", job_id="j")
        return {"below": below, "at": at, "log": log_rows("run-1")}

    def drift_first() -> dict[str, Any]:
        scores, report = steps.metrics("scores"), steps.html("report")
        needed = drift(drift_share_threshold=-1.0, pipeline_run="run-1", job_id="j",
                       scores=scores, report=report)  # fmt: skip
        return {"needed": needed, "scores": scores.metadata,
                "report": Path(report.path).read_text()}  # fmt: skip

    def train_first() -> dict[str, Any]:
        m = steps.metrics("train")
        return {"result": train(pipeline_run="run-1", job_id="j", metrics=m),
                "metrics": m.metadata}  # fmt: skip

    def promote_first() -> dict[str, Any]:
        m = steps.metrics("promote")
        result = steps.seen["train"]["result"]
        decision = promote(train_result=result, pipeline_run="run-1", job_id="j", metrics=m)
        return {"decision": json.loads(decision), "metrics": m.metadata,
                "log": log_rows("run-1")}  # fmt: skip

    def next_run() -> dict[str, Any]:
        # the next run, same market: drift is judged against the champion
        os.environ["HOMEVAL_DRIFT_MIN_ROWS"] = "500"
        collect(max_batches=3, pipeline_run="run-2", job_id="j", metrics=steps.metrics("c2"))
        process(pipeline_run="run-2", job_id="j", metrics=steps.metrics("p2"))
        scores, report = steps.metrics("scores2"), steps.html("report2")
        needed = drift(drift_share_threshold=-1.0, pipeline_run="run-2", job_id="j",
                       scores=scores, report=report)  # fmt: skip
        return {"needed": needed, "scores": scores.metadata,
                "report": Path(report.path).read_text(), "log": log_rows("run-2")}  # fmt: skip

    for name, call in (("collect", collect_first), ("process", process_first),
                       ("gates", gate_first), ("drift", drift_first), ("train", train_first),
                       ("promote", promote_first), ("next run", next_run)):  # fmt: skip
        steps.run(name, call)


@pytest.fixture(scope="module")
def steps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Steps]:
    """The steps run once, with settings from the environment only, as KFP runs them."""
    folder = tmp_path_factory.mktemp("steps")
    saved = dict(os.environ)
    try:
        for name in [n for n in os.environ if is_platform_setting(n)]:
            del os.environ[name]
        os.environ.update({"HOMEVAL_HOME": str(folder / "home"),
                           "MLFLOW_DISABLE_TELEMETRY": "true", **FAST_TRAINING})  # fmt: skip
        with running_feed(datasource_batch_size=600, datasource_batches=12) as (url, _app):
            os.environ.update({"HOMEVAL_FEED_URL": url, "HOMEVAL_FEED_RETRIES": "0"})
            done = Steps(folder)
            _scenario(done)
        yield done
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_collect_stores_the_batches_and_names_the_run_by_the_job(steps: Steps) -> None:
    seen = steps["collect"]
    assert seen["inserted"] == seen["stored"] > 1_500
    assert seen["metrics"]["batches"] == 3.0
    assert seen["metrics"]["inserted"] == float(seen["inserted"])
    assert seen["log"] == [("collect", "collected")]


def test_process_cleans_what_was_collected(steps: Steps) -> None:
    seen, inserted = steps["process"], steps["collect"]["inserted"]
    assert 0 < seen["clean"] <= inserted
    assert seen["metrics"]["clean_total"] == float(seen["clean"])
    assert seen["metrics"]["read"] == float(inserted)


def test_gates_take_the_setting_for_a_negative_threshold(steps: Steps) -> None:
    seen = steps["gates"]
    assert seen["below"] is False
    assert seen["at"] is True
    assert seen["log"] == [("process", "processed"), ("gates", "skipped"), ("gates", "passed")]


def test_drift_without_a_champion_asks_for_training(steps: Steps) -> None:
    seen = steps["drift"]
    assert seen["needed"] is True
    assert "no production model yet" in seen["report"]
    assert seen["scores"] == {"drift_reference_rows": 0.0, "drift_current_rows": 0.0}


def test_train_gives_candidates_with_metrics_per_kind(steps: Steps) -> None:
    seen = steps["train"]
    result = json.loads(seen["result"])
    assert {c["kind"] for c in result["candidates"]} == {"lightgbm", "decision_tree"}
    assert result["pipeline_run"] == "run-1"
    assert 0 < seen["metrics"]["lightgbm_mdape"] < 1
    assert "zip_median_mdape" in seen["metrics"]


def test_promote_gives_the_first_model_the_alias(steps: Steps) -> None:
    seen = steps["promote"]
    assert seen["decision"]["promoted"] is True
    assert seen["decision"]["version"] == "1"
    assert seen["metrics"]["promoted"] == 1.0
    assert seen["log"][-3:] == [("drift", "unknown"), ("train", "trained"),
                                ("promote", "promoted")]  # fmt: skip


def test_the_next_run_in_the_same_market_finds_no_drift(steps: Steps) -> None:
    seen = steps["next run"]
    assert seen["needed"] is False
    assert seen["scores"]["drift_share"] < 0.3
    assert seen["scores"]["drift_current_rows"] > 500
    assert {"drift_log_price", "drift_state"} <= set(seen["scores"])
    assert "Drifted" in seen["report"]  # Evidently's report
    assert seen["log"][-2:] == [("drift", "not_detected"), ("gates", "skipped")]
