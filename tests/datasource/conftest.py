from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client
