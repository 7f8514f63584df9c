"""Client of the Realtor feed: the next batch, or the news that there is none.

The feed is someone else's server on the other side of a network, so every call has a
timeout, and failures that may pass (5xx, timeouts, dropped connections) are retried with
exponential backoff.  "No more data" is the feed's normal answer at the end of a group
(a 400 with a detail message) and comes back as ``FeedExhausted``, not as an error.  What
is left — a feed that stays down, a request it refuses, an answer that is not a batch —
raises ``FeedError`` saying which URL, what status and after how many attempts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from homeval.platform.settings import Settings

log = logging.getLogger("homeval.data.feed_client")

EXHAUSTED_HEADER = "X-Feed-Exhausted"


@dataclass(frozen=True)
class FeedBatch:
    """One batch as the feed sent it (rows are lists in ``LISTING_FIELDS`` order)."""

    group_number: int
    day: str
    batch_number: int | None
    rows: list[Any]


@dataclass(frozen=True)
class FeedExhausted:
    """The feed has no more batches for this (group, day) until it is restarted."""

    group_number: int
    day: str
    detail: str


class FeedError(RuntimeError):
    """The feed could not be used; the message says where, what and how often it was tried."""

    def __init__(self, message: str, *, url: str, status: int | None, attempts: int) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.attempts = attempts


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(body)[:300]


class FeedClient:
    """Talks to one feed; reuse it for many calls and close it (or use ``with``)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 30.0,
        retries: int = 5,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if retries < 0 or backoff_s < 0 or timeout_s <= 0:
            raise ValueError("timeout_s must be > 0, retries and backoff_s >= 0")
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url, timeout=httpx.Timeout(timeout_s), transport=transport
        )

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> FeedClient:
        options: dict[str, Any] = {
            "timeout_s": settings.feed_timeout_s,
            "retries": settings.feed_retries,
            "backoff_s": settings.feed_backoff_s,
            **overrides,
        }
        return cls(settings.feed_url, **options)

    def __enter__(self) -> FeedClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"FeedClient({self.base_url!r})"

    # --- calls ---------------------------------------------------------------------------

    def fetch(self, group: int, day: str, number: int | None = None) -> FeedBatch | FeedExhausted:
        """Batch ``number`` of (group, day) — or, without it, the next one of the feed's
        cursor — or ``FeedExhausted`` when there is no such batch (any more)."""
        params: dict[str, Any] = {"group_number": group, "day": day}
        if number is not None:
            params["batch_number"] = number
        response = self._get("/data", params, exhaustion=True)
        if response.status_code == 400:
            return FeedExhausted(group, day, _detail(response))
        body = self._json(response, "/data", params)
        rows = body.get("data") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise FeedError(
                f"feed answered GET {response.request.url} without a 'data' list",
                url=str(response.request.url),
                status=response.status_code,
                attempts=1,
            )
        number = body.get("batch_number")
        return FeedBatch(
            group_number=int(body.get("group_number", group)),
            day=str(body.get("day", day)),
            batch_number=int(number) if isinstance(number, int | float) else None,
            rows=rows,
        )

    def restart(self, group: int, day: str) -> None:
        """Make the feed serve (group, day) from its first batch again."""
        self._get("/restart_data_generation", {"group_number": group, "day": day})

    def data_id(self) -> str:
        """What names this feed's data: the simulator's ``data_id``, else its URL.

        A collector keys its stored position by it, so a feed moved to another address
        keeps its position and other data (another seed or file) starts from batch 0.
        """
        try:
            found = self.health().get("data_id")
        except FeedError as exc:
            if exc.status is None or exc.status >= 500:
                raise
            found = None  # a feed without /health: it is known by its address
        return str(found) if found else self.base_url

    def health(self) -> dict[str, Any]:
        """The feed's /health answer (raises ``FeedError`` when it does not answer)."""
        response = self._get("/health", {})
        body = self._json(response, "/health", {})
        return body if isinstance(body, dict) else {"status": body}

    # --- plumbing ------------------------------------------------------------------------

    def _json(self, response: httpx.Response, path: str, params: dict[str, Any]) -> Any:
        try:
            return response.json()
        except ValueError:
            raise FeedError(
                f"feed answered GET {response.request.url} with something that is not JSON: "
                f"{response.text[:120]!r}",
                url=str(response.request.url),
                status=response.status_code,
                attempts=1,
            ) from None

    def _delay(self, attempt: int) -> float:
        return float(min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s))

    def _get(
        self, path: str, params: dict[str, Any], *, exhaustion: bool = False
    ) -> httpx.Response:
        """GET with retries; returns a 2xx answer (or the exhaustion 400 when asked to)."""
        url = str(self._http.build_request("GET", path, params=params).url)
        attempts = self.retries + 1
        problem = "no attempt made"
        status: int | None = None
        for attempt in range(1, attempts + 1):
            try:
                response = self._http.get(path, params=params)
            except httpx.TimeoutException:
                problem, status = f"timed out after {self._http.timeout.read:g} s", None
            except httpx.TransportError as exc:
                problem, status = f"connection failed ({type(exc).__name__}: {exc})", None
            else:
                status = response.status_code
                if response.is_success:
                    return response
                if exhaustion and status == 400 and self._is_exhaustion(response):
                    return response
                if status < 500:
                    raise FeedError(
                        f"feed refused GET {url}: HTTP {status}: {_detail(response)}",
                        url=url,
                        status=status,
                        attempts=attempt,
                    )
                problem = f"HTTP {status}: {_detail(response)}"
            if attempt < attempts:
                delay = self._delay(attempt)
                log.warning("GET %s failed (%s); retry %d/%d in %.2g s",
                            url, problem, attempt, self.retries, delay)  # fmt: skip
                self._sleep(delay)
        raise FeedError(
            f"feed GET {url} failed after {attempts} attempt(s): {problem}",
            url=url,
            status=status,
            attempts=attempts,
        )

    @staticmethod
    def _is_exhaustion(response: httpx.Response) -> bool:
        """The simulator marks it with a header; other feeds send a 400 with a text detail."""
        if response.headers.get(EXHAUSTED_HEADER, "").lower() == "true":
            return True
        try:
            body = response.json()
        except ValueError:
            return False
        return isinstance(body, dict) and isinstance(body.get("detail"), str)
