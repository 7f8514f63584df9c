"""The worker pool and the row cuts that share one call among threads."""

from __future__ import annotations

import asyncio

import pytest

from homeval.model.trees import threads


def test_an_awaited_job_that_fails_raises_in_its_caller() -> None:
    async def fail() -> None:
        await threads.worker_pool(1).submit_awaitable(lambda: 1 / 0)

    with pytest.raises(ZeroDivisionError):
        asyncio.run(fail())
    with pytest.raises(ZeroDivisionError):  # and in a caller that blocks
        threads.worker_pool(1).submit(lambda: 1 / 0).result()


def test_row_cuts_cover_every_row_once_in_aligned_blocks() -> None:
    assert threads.row_cuts(100, 2, 32, align=16) == [0, 48, 100]
    assert threads.row_cuts(40, 2, 32, align=16) == [0, 40]  # too few rows for two
    assert threads.row_cuts(9, 2, 4, align=1) == [0, 4, 9]
    assert threads.row_cuts(1000, 4, 32, align=16) == [0, 256, 496, 752, 1000]
