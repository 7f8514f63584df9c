"""State mixes: overrides keep the other states' proportions, and bad text names its problem."""

from __future__ import annotations

import pytest

from homeval.data.generator.state_mix import default_state_mix, parse_state_mix, state_mix


def test_state_mix_keeps_the_rest_as_usual() -> None:
    mix = state_mix(parse_state_mix("California:0.5, TX:0.3"))
    assert mix["California"] == pytest.approx(0.5)
    assert mix["Texas"] == pytest.approx(0.3)
    assert sum(mix.values()) == pytest.approx(1.0)
    usual = default_state_mix()
    others = usual["Ohio"] / usual["Florida"]
    assert mix["Ohio"] / mix["Florida"] == pytest.approx(others)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Atlantis:0.5", "unknown state 'Atlantis'"),
        ("CA=0.5", "is not STATE:SHARE"),
        ("CA:lots", "'lots' is not a number"),
    ],
)
def test_bad_state_mix_names_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_state_mix(text)


def test_shares_over_one_are_refused() -> None:
    with pytest.raises(ValueError, match="more than 1"):
        state_mix({"CA": 0.7, "TX": 0.6})
