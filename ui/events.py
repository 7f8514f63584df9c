"""What every tab's events share: a guard that turns a failure into the tab's own
message, and the flag that keeps the page's events out of the API scripts see."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, Final

from ui import metrics

log = logging.getLogger("homeval.ui")

PAGE_ONLY: Final[dict[str, Any]] = {"api_visibility": "undocumented"}
"""The page's own events: callable by the page, left out of the API a script sees (which
is the one ``/price_listing`` endpoint, ``price_tab.price_api``)."""


def guard(fallback: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Any unexpected failure becomes the fallback's message, never a traceback."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def run(*args: Any) -> Any:
            try:
                return fn(*args)
            except Exception as exc:
                metrics.ERRORS.labels(kind="internal").inc()
                log.exception("handler %s failed", fn.__name__)
                return fallback(f"Something went wrong ({type(exc).__name__}); please retry.")

        return run

    return wrap
