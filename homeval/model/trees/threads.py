"""Sharing one call among threads: a pool of daemon workers for blocking callers and event
loops, and the cuts that split rows among them (the compiled loops release the GIL)."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from functools import partial
from typing import Any, Final

import numpy as np

MIN_ROWS_PER_THREAD: Final = 32
"""Below this many rows per thread, handing work to another thread costs more than it saves."""
MIN_ROWS_PER_AWAITED_THREAD: Final = 256
"""An awaited request is split only from here: the server's loop, not its trees, is busy."""
MIN_ROWS_PER_SHAP_THREAD: Final = 4


class Workers:
    """Daemon threads serving one queue of jobs, for callers that block on a
    ``concurrent.futures.Future`` and for event loops, whose answer goes back with
    ``call_soon_threadsafe`` (``run_in_executor`` does the same through two chained
    futures and an executor's bookkeeping, a visible share of a busy server's loop)."""

    def __init__(self, n: int) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], _Settle]] = queue.SimpleQueue()
        for i in range(n):
            threading.Thread(target=self._serve, name=f"fasttrees_{i}", daemon=True).start()

    def submit(self, job: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        self._jobs.put((job, partial(_settle, future)))
        return future

    def submit_awaitable(self, job: Callable[[], Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def settle(result: Any, exc: BaseException | None) -> None:
            loop.call_soon_threadsafe(_settle, future, result, exc)

        self._jobs.put((job, settle))
        return future

    def _serve(self) -> None:
        while True:
            job, settle = self._jobs.get()
            try:
                result = job()
            except BaseException as exc:  # handed to the waiting caller, not lost here
                settle(None, exc)
            else:
                settle(result, None)


_Settle = Callable[[Any, BaseException | None], Any]


def _settle(
    future: Future[Any] | asyncio.Future[Any], result: Any, exc: BaseException | None
) -> None:
    if future.cancelled():
        return
    if exc is None:
        future.set_result(result)
    else:
        future.set_exception(exc)


_workers_by_count: dict[int, Workers] = {}
_workers_lock = threading.Lock()


def worker_pool(n: int) -> Workers:
    """The pool of n threads, made on first use and shared by every caller asking for n."""
    with _workers_lock:
        workers = _workers_by_count.get(n)
        if workers is None:
            workers = _workers_by_count[n] = Workers(n)
        return workers


def row_cuts(n: int, threads: int, minimum: int, align: int) -> list[int]:
    """Row boundaries (multiples of ``align``) giving each thread at least ``minimum`` rows."""
    parts = max(1, min(threads, n // minimum))
    step = n / parts
    inner = {min(n, round(step * i / align) * align) for i in range(1, parts)}
    return sorted({0, n} | inner)


def run_split(jobs: Sequence[Callable[[], np.ndarray]]) -> list[np.ndarray]:
    """Run the first job here and the others on the pool (numba loops release the GIL)."""
    if len(jobs) == 1:
        return [jobs[0]()]
    futures = [worker_pool(len(jobs) - 1).submit(job) for job in jobs[1:]]
    first = jobs[0]()
    return [first, *(future.result() for future in futures)]
