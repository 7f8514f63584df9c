"""The `homeval pipeline run --json` result: written by the platform, parsed field by field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeval_contract.result import ContractError, parse_outcome


def result(**decisions: Any) -> dict[str, Any]:
    base = {
        "collected_rows": 25_000,
        "clean_rows": 24_100,
        "drift_detected": True,
        "drift_share": 0.62,
        "trained": True,
        "promoted": True,
        "model_version": "3",
        "skip_reason": None,
    }
    return {"run_id": "run-7", "state": "SUCCEEDED", "decisions": {**base, **decisions}}


def test_a_trained_and_promoted_run_is_read_and_summarised() -> None:
    outcome = parse_outcome(json.dumps(result()))
    assert outcome.succeeded
    assert outcome.run_id == "run-7"
    assert outcome.decisions.model_version == "3"
    assert outcome.to_dict()["decisions"]["clean_rows"] == 24_100
    assert outcome.summary() == (
        "pipeline run run-7 SUCCEEDED: trained, promoted model version 3; "
        "collected 25000 rows, 24100 clean; drift yes, drift share 0.620"
    )


def test_a_skipped_run_says_why() -> None:
    line = json.dumps(
        result(
            trained=False,
            promoted=False,
            model_version=None,
            drift_detected=False,
            drift_share=0,
            skip_reason="no drift and a production model exists",
        )
    )
    outcome = parse_outcome(line)
    assert outcome.decisions.drift_share == 0.0
    assert isinstance(outcome.decisions.drift_share, float)
    assert "skipped training (no drift and a production model exists)" in outcome.summary()
    assert "drift no" in outcome.summary()


def test_unknown_drift_before_the_drift_step_ran() -> None:
    outcome = parse_outcome(json.dumps(result(drift_detected=None, drift_share=None)))
    assert "drift unknown" in outcome.summary()


def test_a_failed_state_is_read_but_not_successful() -> None:
    outcome = parse_outcome(json.dumps({**result(), "state": "FAILED"}))
    assert not outcome.succeeded


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("progress 100%", "not JSON"),
        ("[1, 2]", "not an object"),
        (json.dumps({"state": "SUCCEEDED", "decisions": {}}), "no field 'run_id'"),
        (json.dumps({**result(), "state": "DONE"}), "result.state must be one of"),
        (json.dumps({**result(), "run_id": 7}), "result.run_id must be str"),
        (json.dumps({**result(), "decisions": []}), "result.decisions must be dict"),
        (json.dumps(result(trained="yes")), "decisions.trained must be bool"),
        (json.dumps(result(clean_rows=True)), "decisions.clean_rows must not be a boolean"),
        (json.dumps(result(clean_rows=1.5)), "decisions.clean_rows must be int"),
        (json.dumps(result(drift_share="high")), "decisions.drift_share must be int/float/null"),
        (json.dumps(result(model_version=3)), "decisions.model_version must be str/null"),
    ],
)
def test_a_broken_answer_names_what_is_wrong(line: str, message: str) -> None:
    with pytest.raises(ContractError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_outcome(line)


def test_a_missing_decision_is_named() -> None:
    data = result()
    del data["decisions"]["promoted"]
    with pytest.raises(ContractError, match="decisions has no field 'promoted'"):
        parse_outcome(json.dumps(data))


def test_the_platform_writes_what_the_dag_parses() -> None:
    """``homeval pipeline run --json`` prints ``LocalRunResult.contract()``: it parses back."""
    from homeval_contract.decisions import Decisions

    from pipelines.local_run import LocalRunResult

    decisions = Decisions(100, 90, False, 0.05, False, False, None, "no drift")
    result = LocalRunResult("local-1", "SUCCEEDED", decisions, seconds=3.0)
    outcome = parse_outcome(json.dumps(result.contract()))
    assert (outcome.run_id, outcome.state, outcome.decisions) == ("local-1", "SUCCEEDED", decisions)
    assert parse_outcome(outcome.to_line()) == outcome
