"""The client's failure modes over real sockets on loopback; its happy path against the real
predictor is in tests/ui (it needs a served model)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.conftest import free_port
from ui.predictor_client import (
    PredictorClient,
    PredictorError,
    parse_explanations,
    parse_predictions,
)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: a predictor stuck on something."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                accepted.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_a_predictor_that_is_down_is_named_as_unreachable() -> None:
    client = PredictorClient(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    with pytest.raises(PredictorError, match="not reachable") as caught:
        client.predict("house-price", [{"state": "Texas"}])
    client.close()
    assert caught.value.kind == "unavailable"


def test_a_slow_predictor_times_out_after_the_configured_time(silent_server: str) -> None:
    with PredictorClient(silent_server, timeout_s=0.5) as client:
        start = time.perf_counter()
        with pytest.raises(PredictorError, match=r"did not answer within 0\.5 s") as caught:
            client.explain("house-price", [{"state": "Texas"}])
        elapsed = time.perf_counter() - start
    assert caught.value.kind == "timeout"
    assert 0.4 < elapsed < 3


def test_prediction_answers_in_either_shape() -> None:
    flat = parse_predictions({"predictions": [100.0, 200.0]}, expected=2)
    assert [p.price for p in flat] == [100.0, 200.0]
    assert flat[0].lower is None
    rich = parse_predictions(
        {"predictions": [{"price": 100.0, "lower": 80.0, "upper": 125.0}],
         "interval": {"coverage": 0.9}, "model_version": "4"},
        expected=1,
    )  # fmt: skip
    assert rich[0].lower == 80.0
    assert rich[0].upper == 125.0
    assert rich[0].coverage == 0.9
    assert rich[0].model_version == "4"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"predictions": "100"},
        {"predictions": [1.0, 2.0]},
        {"predictions": ["a lot"]},
        {"predictions": [float("nan")]},
        {"predictions": [True]},
    ],
)
def test_odd_prediction_answers_are_bad_responses(body: object) -> None:
    with pytest.raises(PredictorError) as caught:
        parse_predictions(body, expected=1)
    assert caught.value.kind == "bad_response"


def test_explanations_are_read_and_checked() -> None:
    body = {"explanations": [{"base_value": 12.0, "contributions": {"state": 0.1}}]}
    (one,) = parse_explanations(body, expected=1)
    assert one.base_value == 12.0
    assert one.contributions == {"state": 0.1}
    assert one.log_space
    with pytest.raises(PredictorError, match="no contributions"):
        parse_explanations({"explanations": [{"base_value": 1.0}]}, expected=1)
    with pytest.raises(PredictorError, match="2 explanations for 1"):
        parse_explanations({"explanations": [body["explanations"][0]] * 2}, expected=1)
