"""The gates as pure functions: each boundary, each reason."""

from __future__ import annotations

import pytest

from homeval.workflow.gates import (
    GateDecision,
    enough_rows,
    first_failure,
    needs_training,
    teacher_share_ok,
)


@pytest.mark.parametrize(
    ("clean", "minimum", "passed"),
    [(20_000, 20_000, True), (19_999, 20_000, False), (0, 0, True), (5, 0, True), (0, 1, False)],
)
def test_enough_rows_boundary(clean: int, minimum: int, passed: bool) -> None:
    decision = enough_rows(clean, minimum)
    assert decision.passed is passed
    assert decision.gate == "rows"


def test_enough_rows_reasons_name_the_numbers() -> None:
    assert enough_rows(19_999, 20_000).reason == "only 19,999 clean rows, 20,000 needed to train"
    assert enough_rows(25_000, 20_000).reason == "25,000 clean rows (at least 20,000)"


def test_negative_counts_are_a_bug_not_a_skip() -> None:
    with pytest.raises(ValueError, match="negative"):
        enough_rows(-1, 10)
    with pytest.raises(ValueError, match="negative"):
        teacher_share_ok({"teacher": -1}, 0.5)


@pytest.mark.parametrize(
    ("counts", "share", "passed"),
    [
        ({"teacher": 80, "user": 20}, 0.8, True),
        ({"teacher": 79, "user": 21}, 0.8, False),
        ({"teacher": 10, "user": 0}, 1.0, True),
        ({"teacher": 0, "user": 10}, 0.0, True),
        ({"teacher": 0, "user": 10}, 0.01, False),
        ({"user": 3}, 0.5, False),
        ({"teacher": 5}, 0.8, True),
        ({"teacher": 0, "user": 0}, 0.8, False),
        ({}, 0.0, True),
    ],
)
def test_teacher_share(counts: dict[str, int], share: float, passed: bool) -> None:
    decision = teacher_share_ok(counts, share)
    assert decision.passed is passed
    assert decision.gate == "teacher"


def test_teacher_share_reason() -> None:
    decision = teacher_share_ok({"teacher": 700, "user": 300}, 0.8)
    assert decision.reason == "teacher rows are only 70.0% of 1,000 raw rows, 80% needed"
    assert teacher_share_ok({}, 0.8).reason == "no raw rows yet, so no teacher share"


def test_teacher_share_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        teacher_share_ok({"teacher": 1}, 1.5)


@pytest.mark.parametrize(
    ("drift", "has_production", "passed", "starts"),
    [
        (None, False, True, "no production model yet"),
        (False, False, True, "no production model yet"),
        (True, False, True, "no production model yet"),
        (True, True, True, "drift detected"),
        (False, True, False, "no drift since the production model"),
        (None, True, False, "drift could not be judged"),
    ],
)
def test_needs_training(
    drift: bool | None, has_production: bool, passed: bool, starts: str
) -> None:
    decision = needs_training(drift, has_production)
    assert decision.passed is passed
    assert decision.reason.startswith(starts)
    assert decision.gate == "drift"


def test_an_outdated_production_model_is_retrained_whatever_the_drift() -> None:
    reason = "production model v3 was logged by an older homeval: retrain"
    for drift in (True, False, None):
        decision = needs_training(drift, True, outdated=reason, note="no column drifted")
        assert decision.passed
        assert decision.reason == reason
    assert not needs_training(False, True, outdated="").passed


def test_needs_training_carries_the_drift_note() -> None:
    decision = needs_training(False, True, note="1 of 10 columns drifted")
    assert decision.reason == "no drift since the production model: 1 of 10 columns drifted"


def test_first_failure_is_the_first_closed_gate() -> None:
    ok = GateDecision(True, "fine", "rows")
    closed = GateDecision(False, "closed", "teacher")
    later = GateDecision(False, "later", "drift")
    assert first_failure(ok, closed, later) is closed
    assert first_failure(ok, ok) is None
    assert first_failure() is None
    assert closed.to_dict() == {"passed": False, "reason": "closed", "gate": "teacher"}
