from __future__ import annotations

import pytest

from homeval.drift.verdict import disagrees_with_share_rule, verdict


def test_the_share_rule_in_words() -> None:
    assert verdict(True, 0.4, 0.3, False) == (
        "Dataset drift detected: 40% of the columns drifted (threshold 30%)."
    )
    assert verdict(False, 0.1, 0.3, False) == (
        "No dataset drift: 10% of the columns drifted (threshold 30%)."
    )


def test_a_moved_price_level_is_named_as_the_reason() -> None:
    assert verdict(True, 0.1, 0.3, True) == (
        "Drift detected: the price level moved; 10% of the columns drifted (threshold 30%)."
    )


def test_an_unjudged_check_gives_its_reason() -> None:
    assert verdict(None, None, None, False, "only 12 new rows.") == (
        "Drift not judged: only 12 new rows."
    )
    assert verdict(None, None, None, False) == "Drift not judged."


@pytest.mark.parametrize(
    ("detected", "share", "expected"),
    [
        (True, 0.1, True),
        (True, 0.4, False),
        (False, 0.1, False),
        (False, 0.4, True),
        (None, 0.4, False),
    ],
)
def test_disagreement_with_the_share_rule(
    detected: bool | None, share: float, expected: bool
) -> None:
    assert disagrees_with_share_rule(detected, share, 0.3) is expected
