"""One fold of a run's ``trainlogs`` rows into its decisions, for the platform and the DAG.

``homeval_contract.decisions.decisions_from_rows`` is what ``homeval.workflow.steps
.run_decisions`` returns and what the DAG's cluster mode reads a KFP run with
(``pipelines/dags/homeval_trigger/decisions.py``, tested in tests/pipelines/dags).  Here:
the fold on every kind of run, and the platform's reader on rows homeval's own ``Store``
wrote to a real PostgreSQL, which must give the fold's answer.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeval_contract.decisions import NOTHING, Decisions, decisions_from_rows

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


EXPECTED: dict[str, Decisions] = {
    "promoted": Decisions(900, 20500, True, 0.3, True, True, "4", None),
    "kept champion": Decisions(900, 20500, True, 0.5, True, False, "3", None),
    "skipped": Decisions(
        900, 20500, False, 0.1, False, False, None, "no drift since the production model"
    ),
    "gates only": Decisions(
        0, 1200, None, None, False, False, None, "1,200 clean rows, 20,000 needed"
    ),
    "retried step": Decisions(900, 20500, None, None, True, True, "1", None),
}


def as_rows(kind: str, *, metrics_as_text: bool = False) -> list[dict[str, Any]]:
    return [
        {
            "step": step,
            "status": status,
            "message": message,
            "metrics": json.dumps(metrics) if metrics_as_text and metrics else metrics,
            "model_version": version,
        }
        for step, status, message, metrics, version in RUNS[kind]
    ]


@pytest.mark.parametrize("kind", list(RUNS))
def test_the_fold_says_what_each_kind_of_run_decided(kind: str) -> None:
    assert decisions_from_rows(as_rows(kind)) == EXPECTED[kind]


@pytest.mark.parametrize("kind", list(RUNS))
def test_metrics_a_driver_hands_over_as_json_text_fold_the_same(kind: str) -> None:
    assert decisions_from_rows(as_rows(kind, metrics_as_text=True)) == EXPECTED[kind]


def test_a_run_without_rows_decided_nothing() -> None:
    assert decisions_from_rows([]) == NOTHING
    assert NOTHING.to_dict()["trained"] is False


@pytest.mark.postgres
@pytest.mark.parametrize("kind", list(RUNS))
def test_the_platform_reads_a_run_with_the_fold(postgres_url: str, kind: str) -> None:
    from homeval.data.store import Store
    from homeval.workflow.steps import run_decisions

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
        assert run_decisions(store, f"run-{kind}") == EXPECTED[kind]
        assert run_decisions(store, "run-never") == NOTHING
    finally:
        store.dispose()
