"""FeedClient against real servers on loopback: retries, timeouts, exhaustion, clear errors."""

from __future__ import annotations

import socket

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.responses import PlainTextResponse

from homeval.data.feed_client import FeedBatch, FeedClient, FeedError, FeedExhausted
from homeval.platform.settings import Settings
from tests.datasource.server import running, running_feed


def client(url: str, **options: object) -> FeedClient:
    defaults: dict[str, object] = {"timeout_s": 5.0, "retries": 3, "backoff_s": 0.0}
    return FeedClient(url, **{**defaults, **options})  # type: ignore[arg-type]


def test_fetch_until_exhausted_then_restart() -> None:
    with running_feed(datasource_batches=2) as (url, _), client(url) as feed:
        first = feed.fetch(1, "Tuesday")
        second = feed.fetch(1, "Tuesday")
        assert isinstance(first, FeedBatch)
        assert isinstance(second, FeedBatch)
        assert (first.batch_number, second.batch_number) == (0, 1)
        assert len(first.rows) == 50
        done = feed.fetch(1, "Tuesday")
        assert isinstance(done, FeedExhausted)
        assert "all 2 batches were served" in done.detail
        feed.restart(1, "Tuesday")
        again = feed.fetch(1, "Tuesday")
        assert isinstance(again, FeedBatch)
        assert again.rows == first.rows
        assert feed.health()["status"] == "ok"


def test_injected_5xx_are_retried_until_the_batch_comes() -> None:
    with (
        running_feed(datasource_fail_rate=0.5, datasource_batches=10) as (url, _),
        client(url, retries=30) as feed,
    ):
        numbers = []
        while isinstance(answer := feed.fetch(1, "Tuesday"), FeedBatch):
            numbers.append(answer.batch_number)
    assert numbers == list(range(10))  # none skipped, none twice


def test_a_feed_that_stays_down_gives_a_clear_error() -> None:
    slept: list[float] = []
    with running_feed(datasource_fail_rate=1.0) as (url, _):
        feed = FeedClient(url, timeout_s=5, retries=3, backoff_s=0.1, sleep=slept.append)
        with pytest.raises(FeedError) as caught:
            feed.fetch(1, "Tuesday")
    error = caught.value
    assert (error.status, error.attempts) == (503, 4)
    assert error.url == f"{url}/data?group_number=1&day=Tuesday"
    message = str(error)
    assert "failed after 4 attempt(s)" in message
    assert "HTTP 503" in message
    assert url in message
    assert slept == [0.1, 0.2, 0.4]  # exponential backoff


def test_backoff_is_capped() -> None:
    feed = FeedClient("http://127.0.0.1:1", backoff_s=1.0, max_backoff_s=5.0)
    assert [feed._delay(a) for a in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_timeouts_are_retried_and_reported() -> None:
    with running_feed(datasource_latency_s=0.5) as (url, app):
        with client(url, timeout_s=0.1, retries=2) as feed, pytest.raises(FeedError) as caught:
            feed.fetch(1, "Tuesday")
        assert "timed out after 0.1 s" in str(caught.value)
        assert caught.value.attempts == 3
        assert caught.value.status is None
        with client(url, timeout_s=5) as patient:
            answer = patient.fetch(1, "Tuesday")
        assert isinstance(answer, FeedBatch)
        assert answer.batch_number == 0  # the timed-out attempts lost nothing
        assert app.state.feed.cursors.peek((1, "Tuesday")) == 1


def test_connection_refused_is_retried_and_reported() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        with (
            client(f"http://127.0.0.1:{port}", retries=2) as feed,
            pytest.raises(FeedError) as caught,
        ):
            feed.fetch(1, "Tuesday")
    assert "connection failed (ConnectError" in str(caught.value)
    assert caught.value.attempts == 3


def test_a_refused_request_is_not_retried() -> None:
    with (
        running_feed() as (url, _),
        client(url, retries=5) as feed,
        pytest.raises(FeedError) as caught,
    ):
        feed.fetch(0, "Tuesday")
    assert caught.value.attempts == 1
    assert caught.value.status == 422
    assert "group_number" in str(caught.value)


def test_exhaustion_of_a_feed_without_the_header() -> None:
    """The seed project's feed says 'no more data' with a bare 400 and a message."""
    app = FastAPI()

    @app.get("/data")
    def data(group_number: int, day: str) -> None:
        raise HTTPException(400, detail="Ya se recolectó toda la información mínima necesaria")

    with running(app) as url, client(url) as feed:
        answer = feed.fetch(3, "Wednesday")
    assert isinstance(answer, FeedExhausted)
    assert (answer.group_number, answer.day) == (3, "Wednesday")
    assert "toda la información" in answer.detail


def test_an_answer_that_is_not_a_batch_is_an_error() -> None:
    app = FastAPI()

    @app.get("/data", response_class=PlainTextResponse)
    def data() -> str:
        return "<html>maintenance</html>"

    @app.get("/health")
    def health() -> dict[str, object]:
        return {"rows": [1, 2]}

    with running(app) as url, client(url) as feed:
        with pytest.raises(FeedError, match="not JSON"):
            feed.fetch(1, "Tuesday")
        assert feed.health() == {"rows": [1, 2]}


def test_a_batch_without_data_is_an_error() -> None:
    app = FastAPI()

    @app.get("/data")
    def data() -> dict[str, object]:
        return {"batch_number": 0}

    with running(app) as url, client(url) as feed, pytest.raises(FeedError, match="'data' list"):
        feed.fetch(1, "Tuesday")


def test_from_settings_uses_the_feed_settings() -> None:
    settings = Settings(
        feed_url="http://127.0.0.1:9/", feed_retries=7, feed_backoff_s=0.25, feed_timeout_s=3
    )
    feed = FeedClient.from_settings(settings)
    assert (feed.base_url, feed.retries, feed.backoff_s) == ("http://127.0.0.1:9", 7, 0.25)
    assert feed._http.timeout.read == 3


def test_bad_client_options_are_refused() -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        FeedClient("http://127.0.0.1:9", timeout_s=0)
