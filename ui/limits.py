"""How much one client may ask of the page: a request rate per address.

The pricing form and its API are open to anyone who reaches the UI, and each request
costs the predictor a prediction and an explanation.  A token bucket per client address
lets a person click as fast as people do and stops a script hammering the predictor
through the UI.  Per process: with several UI replicas each enforces its own share.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MAX_CLIENTS = 10_000
"""Buckets kept at most; full buckets (idle clients) are dropped first when there are more."""


class RateLimiter:
    """``allow(client)``: at most ``per_minute`` requests a minute per client, in bursts of
    up to ``per_minute``."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError(f"per_minute must be at least 1, got {per_minute}")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # client → (tokens, as of)

    def allow(self, client: str) -> bool:
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[client] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > MAX_CLIENTS:
                self._forget_idle(now)
            return allowed

    def _forget_idle(self, now: float) -> None:
        full = [c for c, (t, then) in self._buckets.items()
                if t + (now - then) * self.rate >= self.capacity]  # fmt: skip
        for client in full:
            del self._buckets[client]
