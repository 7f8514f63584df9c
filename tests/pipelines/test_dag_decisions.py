"""The DAG's copy of ``homeval.workflow.steps.run_decisions`` answers as the platform does.

Cluster mode reads what a KFP run decided from ``trainlogs`` in the DAG's own
environment (``pipelines/dags/homeval_trigger/decisions.py``), which cannot import
homeval.  This test runs in the platform's environment, where both exist: rows written by
homeval's own ``Store.log`` on a real PostgreSQL, read by both, must give the same
decisions for every kind of run.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from typing import Any

import pytest

from homeval.data.store import Store
from homeval.workflow.steps import run_decisions
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "pipelines" / "dags"))
from homeval_trigger.decisions import read_decisions

Row = tuple[str, str, str, dict[str, Any] | None, str | None]
COLLECTED: list[Row] = [
    ("collect", "collected", "collected 2 batches", {"inserted": 900, "batches": 2}, None),
    ("process", "processed", "cleaned 850", {"clean_total": 20500, "clean_new": 850}, None),
]
RUNS: dict[str, list[Row]] = {
    "promoted": [
        *COLLECTED,
        ("gates", "passed", "all gates passed", {"clean_rows": 20500}, None),
        ("drift", "detected", "3 of 10 columns", {"detected": True, "drift_share": 0.3}, None),
        ("train", "trained", "lightgbm best", {"mdape": 0.15}, None),
        ("promote", "promoted", "challenger wins", {"mdape": 0.15}, "4"),
    ],
    "kept champion": [
        *COLLECTED,
        ("drift", "detected", "drift", {"detected": True, "drift_share": 0.5}, None),
        ("train", "trained", "decision_tree best", {"mdape": 0.2}, None),
        ("promote", "kept_champion", "champion still better", None, "3"),
    ],
    "skipped": [
        *COLLECTED,
        ("drift", "not_detected", "no drift", {"detected": False, "drift_share": 0.1}, None),
        ("gates", "skipped", "training skipped: no drift since the production model", None, None),
    ],
    "gates only": [
        (
            "gates",
            "skipped",
            "training skipped: 1,200 clean rows, 20,000 needed",
            {"clean_rows": 1200},
            None,
        ),
    ],
    "retried step": [  # a step that ran twice: its last row wins
        *COLLECTED,
        ("drift", "unknown", "no reference", {"detected": None}, None),
        ("train", "failed", "out of memory", None, None),
        ("train", "trained", "retry", {"mdape": 0.18}, None),
        ("promote", "promoted", "first model", None, "1"),
    ],
}


@pytest.mark.postgres
@pytest.mark.parametrize("kind", list(RUNS))
def test_the_dag_reads_a_run_as_the_platform_does(postgres_url: str, kind: str) -> None:
    store = Store(postgres_url)
    store.init()
    try:
        for other in RUNS:  # every run in one table: only this run's rows may count
            for step, status, message, metrics, version in RUNS[other]:
                store.log_training(
                    step=step,
                    status=status,
                    message=message,
                    metrics=metrics,
                    model_version=version,
                    pipeline_run=f"run-{other}",
                )
        expected = asdict(run_decisions(store, f"run-{kind}"))
    finally:
        store.dispose()
    got = read_decisions(postgres_url, f"run-{kind}")
    assert got is not None
    assert asdict(got) == expected
    assert read_decisions(postgres_url, "run-never") is None
