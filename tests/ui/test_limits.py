"""The per-client request rate: bursts as people click, a script is slowed to the rate."""

from __future__ import annotations

import pytest

from ui.limits import MAX_CLIENTS, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_gets_its_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(6, clock=clock)  # 6 a minute: one every 10 s
    assert [limiter.allow("a") for _ in range(7)] == [True] * 6 + [False]
    assert limiter.allow("b"), "another client has its own bucket"
    clock.now += 9.9
    assert not limiter.allow("a")
    clock.now += 0.2
    assert limiter.allow("a")
    assert not limiter.allow("a")
    clock.now += 3600
    assert [limiter.allow("a") for _ in range(7)] == [True] * 6 + [False], "never over burst"


def test_idle_clients_are_forgotten_when_there_are_too_many() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock=clock)
    limiter.allow("busy")
    for n in range(MAX_CLIENTS + 5):
        limiter.allow(f"client-{n}")
        clock.now += 0.001
    assert len(limiter._buckets) <= MAX_CLIENTS + 1, "bounded by the clients still limited"
    assert "busy" not in limiter._buckets, "an idle client's full bucket was dropped"


def test_the_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="per_minute"):
        RateLimiter(0)
