"""Bad input over real HTTP: always 400 with the field and the problem named, never a 500,
for a table of known mistakes and for thousands of generated payloads (hypothesis)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homeval.data.schema import INPUT_FIELDS, LISTING_FIELDS
from tests.inference.conftest import Registry, Served, start_server, stop_server

PREDICT = "/v1/models/house-price:predict"
EXPLAIN = "/v1/models/house-price:explain"
INFER = "/v2/models/house-price/infer"
GOOD = {"state": "CT", "city": "Hartford", "zip_code": "06103", "bed": 3, "house_size": 1500}
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def server(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("bad-input") / "server.log"
    env = {
        **registry.env(),
        "HOMEVAL_PREDICTOR_MAX_INSTANCES": "50",
        "HOMEVAL_PREDICTOR_MAX_BODY_BYTES": str(LIMIT),
    }
    served = start_server(env, log)
    try:
        yield served
    finally:
        stop_server(served)
    assert "Traceback" not in served.output(), "a request made the server log a stack trace"


@pytest.fixture(scope="module")
def client(server: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def one(**fields: Any) -> dict[str, Any]:
    return {"instances": [{**GOOD, **fields}]}


CASES: list[tuple[str, Any, str]] = [
    ("no instances", {}, 'no "instances"'),
    ("instances not a list", {"instances": {"state": "CT"}}, "must be a list"),
    ("instances a string", {"instances": "CT"}, "must be a list"),
    ("empty", {"instances": []}, "empty"),
    ("too many", {"instances": [GOOD] * 51}, "at most 50"),
    ("body is a list", [GOOD], "JSON object"),
    ("body is a number", 3, "JSON object"),
    ("body is null", None, "JSON object"),
    ("unknown top key", {"instances": [GOOD], "inputs": []}, "unknown key 'inputs'"),
    ("missing state", {"instances": [{"bed": 3}]}, "state: missing"),
    ("null state", one(state=None), "state: missing"),
    ("unknown state", one(state="Atlantis"), "state: unknown state 'Atlantis'"),
    ("state a number", one(state=7), "state: expected text"),
    ("street a 400-digit number", one(street=10**400), "number is infinity"),
    ("brokered_by a 250-digit number", one(brokered_by=10**250), "brokered_by"),
    ("negative size", one(house_size=-10), "house_size: must not be negative"),
    ("negative bed", one(bed=-1), "bed: must not be negative"),
    ("text in a number", one(bath="two"), "bath: not a number"),
    ("boolean number", one(bed=True), "bed: expected a number, got a boolean"),
    ("list number", one(acre_lot=[1]), "acre_lot: expected a number, got a list"),
    ("absurd size", one(house_size=1e12), "house_size: 1e+12 is not plausible"),
    ("huge integer", one(bed=10**30), "bed: 1e+30 is not plausible"),
    ("beyond a double", one(bed=10**400), "Unrecognized request format"),
    ("unknown status", one(status="rented"), "status: unknown status 'rented'"),
    ("malformed zip", one(zip_code="ABCDE"), "zip_code: not a ZIP code"),
    ("six-digit zip", one(zip_code="123456"), "zip_code: not a ZIP code"),
    ("fractional zip", one(zip_code=6103.5), "zip_code: not a ZIP code"),
    ("malformed date", one(prev_sold_date="yesterday"), "prev_sold_date: not a date"),
    ("future date", one(prev_sold_date="2999-01-01"), "not between 1800-01-01 and today"),
    ("date a number", one(prev_sold_date=20200101), "prev_sold_date: expected a date as text"),
    ("unknown field", one(colour="red"), "unknown field 'colour'"),
    ("city an object", one(city={"name": "x"}), "city: expected text, got an object"),
    ("long city", one(city="x" * 500), "city: longer than 200 characters"),
    ("short list", {"instances": [["CT", 3]]}, "needs 11 values"),
    ("instance a string", {"instances": ["CT"]}, "a listing is an object"),
    ("second instance bad", {"instances": [GOOD, {**GOOD, "bed": -2}]}, "instances[1]: bed"),
    ("interval not a bool", {**one(), "parameters": {"interval": "yes"}}, "true or false"),
    ("unknown parameter", {**one(), "parameters": {"explain": True}}, "unknown parameter"),
    ("parameters a list", {**one(), "parameters": [1]}, '"parameters" must be an object'),
]


@pytest.mark.parametrize(("name", "body", "message"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("path", [PREDICT, EXPLAIN])
def test_known_mistakes_are_400_with_the_field_named(
    client: httpx.Client, path: str, name: str, body: Any, message: str
) -> None:
    response = client.post(
        path, content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert message in response.json()["error"], response.json()


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b"{not json", "application/json", "Unrecognized request format"),
        (b"\xff\xfe\x00", "application/json", "Unrecognized request format"),
        (b"", "application/json", "Unrecognized request format"),
        (b"state=CT", "text/plain", "the body must be JSON"),
        (b"state=CT", "application/x-www-form-urlencoded", "the body must be JSON"),
        (b'{"instances": [{"state": "CT", "bed": NaN}]}', "application/json", "Unrecognized"),
    ],
)
def test_a_body_that_is_not_json_is_400(
    client: httpx.Client, content: bytes, content_type: str, message: str
) -> None:
    response = client.post(PREDICT, content=content, headers={"content-type": content_type})
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": [{"name": "colour", "shape": [1], "datatype": "BYTES", "data": ["x"]}]},
         "unknown input 'colour'"),
        ({"inputs": [
            {"name": "state", "shape": [2], "datatype": "BYTES", "data": ["CT", "NY"]},
            {"name": "bed", "shape": [1], "datatype": "FP64", "data": [3.0]},
        ]}, "different lengths"),
        ({"inputs": [{"name": "bed", "shape": [1], "datatype": "FP64", "data": [3.0]}]},
         "input state, row 0: missing"),
        ({"inputs": [{"name": "state", "shape": [1], "datatype": "BYTES"}]}, "data"),
        ({"inputs": "state"}, "inputs"),
        ({"inputs": []}, "no inputs"),
        ({"inputs": [{"name": "state", "shape": [1], "datatype": "BYTES", "data": ["CT"]},
                     {"name": "state", "shape": [1], "datatype": "BYTES", "data": ["NY"]}]},
         "given twice"),
    ],
)  # fmt: skip
def test_v2_mistakes_are_400(client: httpx.Client, body: dict[str, Any], message: str) -> None:
    response = client.post(INFER, json=body)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]


def test_an_unknown_model_is_404_not_500(client: httpx.Client) -> None:
    response = client.post("/v1/models/nope:predict", json=one())
    assert response.status_code == 404


# --- generated payloads -------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
field_values = st.one_of(
    json_values,
    st.sampled_from(["CT", "Connecticut", "ny", "for_sale", "sold", "06103", "2019-05-01",
                     "5/1/2019", "", " ", "Hartford", "0", "-1", "1e308", "NaN"]),
    st.floats(min_value=-10, max_value=1e8),
    st.integers(min_value=-5, max_value=100_000),
)  # fmt: skip
listing = st.dictionaries(
    st.sampled_from(LISTING_FIELDS) | st.text(max_size=10), field_values, max_size=13
) | st.lists(field_values, min_size=0, max_size=13)
body_strategy = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"instances": st.lists(listing, max_size=6)},
        optional={"parameters": st.dictionaries(st.sampled_from(["interval", "x"]), json_values)},
    ),
    st.fixed_dictionaries({"instances": st.lists(st.fixed_dictionaries(
        {"state": st.sampled_from(["CT", "NY", "PR", "Vermont"])},
        optional={name: field_values for name in INPUT_FIELDS if name != "state"},
    ), min_size=1, max_size=5)}),
)  # fmt: skip

FUZZ = settings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


def check_answer(response: httpx.Response) -> None:
    assert response.status_code in (200, 400), (response.status_code, response.text)
    body = response.json()
    if response.status_code == 400:
        assert isinstance(body["error"], str)
        assert body["error"]
        assert "Traceback" not in body["error"]


@FUZZ
@given(body=body_strategy, explain=st.booleans())
def test_generated_v1_payloads_are_answered_200_or_400(
    client: httpx.Client, body: Any, explain: bool
) -> None:
    content = json.dumps(body, allow_nan=True).encode()
    response = client.post(
        EXPLAIN if explain else PREDICT,
        content=content,
        headers={"content-type": "application/json"},
    )
    check_answer(response)
    if response.status_code == 200 and not explain:
        for price in response.json()["predictions"]:
            value = price["price"] if isinstance(price, dict) else price
            assert value > 0


v2_tensor = st.fixed_dictionaries(
    {
        "name": st.sampled_from(LISTING_FIELDS) | st.text(max_size=8),
        "shape": st.lists(st.integers(-2, 5), max_size=2),
        "datatype": st.sampled_from(["BYTES", "FP64", "INT32", "BOOL", "FP32", "XYZ"]),
        "data": st.lists(field_values, max_size=4) | json_values,
    }
)


@settings(FUZZ, max_examples=600)
@given(
    body=st.fixed_dictionaries(
        {"inputs": st.lists(v2_tensor, max_size=4)},
        optional={"parameters": st.dictionaries(st.sampled_from(["interval", "x"]), json_values),
                  "id": st.text(max_size=5)},
    ) | json_values
)  # fmt: skip
def test_generated_v2_payloads_are_answered_200_or_400(client: httpx.Client, body: Any) -> None:
    response = client.post(
        INFER, content=json.dumps(body, allow_nan=True).encode(),
        headers={"content-type": "application/json"},
    )  # fmt: skip
    check_answer(response)


@settings(FUZZ, max_examples=300)
@given(content=st.binary(max_size=200))
def test_random_bytes_are_answered_400(client: httpx.Client, content: bytes) -> None:
    response = client.post(PREDICT, content=content, headers={"content-type": "application/json"})
    check_answer(response)


def test_binary_v2_text_that_is_not_utf8_is_400(client: httpx.Client) -> None:
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "state",
                    "shape": [1],
                    "datatype": "BYTES",
                    "parameters": {"binary_data_size": 6},
                }
            ]
        }
    ).encode()
    raw = (2).to_bytes(4, "little") + b"\xff\xfe"
    response = client.post(
        INFER,
        content=header + raw,
        headers={
            "content-type": "application/octet-stream",
            "inference-header-content-length": str(len(header)),
        },
    )
    assert response.status_code == 400, response.text
    assert "using UTF-8" in response.json()["error"]


binary_tensor = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["state", "bed", "city", "zip_code", "x"]),
        "shape": st.lists(st.integers(-1, 4), min_size=0, max_size=2),
        "datatype": st.sampled_from(["BYTES", "FP64", "FP32", "INT64", "BOOL", "UINT8", "XYZ"]),
        "parameters": st.fixed_dictionaries({"binary_data_size": st.integers(-2, 40)}),
    }
)


@settings(FUZZ, max_examples=400)
@given(
    tensors=st.lists(binary_tensor, min_size=0, max_size=3),
    raw=st.binary(max_size=80),
    lie=st.integers(-3, 3),
)
def test_generated_binary_v2_payloads_are_answered_200_or_400(
    client: httpx.Client, tensors: list[dict[str, Any]], raw: bytes, lie: int
) -> None:
    header = json.dumps({"inputs": tensors}).encode()
    response = client.post(
        INFER,
        content=header + raw,
        headers={
            "content-type": "application/octet-stream",
            "inference-header-content-length": str(max(0, len(header) + lie)),
        },
    )
    check_answer(response)


def _rss(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * 4096


@pytest.mark.parametrize("path", [PREDICT, EXPLAIN, INFER, "/v1/models/no-such-model:predict"])
def test_a_body_over_the_limit_is_413_before_it_is_read(
    client: httpx.Client, server: Served, path: str
) -> None:
    before = _rss(server.process.pid)
    big = b'{"instances": [' + b'{"state": "CT"},' * 200_000 + b'{"state": "CT"}]}'  # 3.4 MB
    answer = client.post(path, content=big, headers={"content-type": "application/json"})
    assert answer.status_code == 413, answer.text
    assert "over the limit of 65,536 bytes" in answer.json()["error"]
    assert "HOMEVAL_PREDICTOR_MAX_BODY_BYTES" in answer.json()["error"]
    assert _rss(server.process.pid) - before < 20 * 2**20, "the body was not read"


def test_a_chunked_body_over_the_limit_is_413_too(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"instances": ['
        for _ in range(10_000):
            yield b'{"state": "CT"},'
        yield b'{"state": "CT"}]}'

    answer = client.post(PREDICT, content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in answer.request.headers  # sent chunked
    assert answer.status_code == 413, answer.text


def test_a_chunked_body_under_the_limit_is_served(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"instances": ['
        yield json.dumps(GOOD).encode()
        yield b"]}"

    answer = client.post(PREDICT, content=chunks(), headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text


@settings(FUZZ, max_examples=200)
@given(
    size=st.integers(min_value=LIMIT - 2048, max_value=LIMIT + 2048),
    path=st.sampled_from([PREDICT, EXPLAIN, INFER]),
    chunked=st.booleans(),
)
def test_generated_sizes_around_the_limit_are_413_exactly_above_it(
    client: httpx.Client, size: int, path: str, chunked: bool
) -> None:
    """A body of ``size`` bytes (padded with spaces, valid JSON): over the limit a 413,
    at or under it an answer of the endpoint (200, or 400 for too many instances)."""
    body = json.dumps({"instances": [GOOD] * 40} if path != INFER else {"inputs": []}).encode()
    content = body + b" " * max(0, size - len(body))
    parts = [content[i : i + 4096] for i in range(0, len(content), 4096)]
    sent: Any = iter(parts) if chunked else content
    answer = client.post(path, content=sent, headers={"content-type": "application/json"})
    if len(content) > LIMIT:
        assert answer.status_code == 413, (len(content), answer.text[:200])
    else:
        check_answer(answer)


huge = st.integers(min_value=10**18, max_value=10**1000) | st.integers(
    min_value=-(10**1000), max_value=-(10**18)
)


@settings(FUZZ, max_examples=300)
@given(field=st.sampled_from(INPUT_FIELDS), number=huge, explain=st.booleans())
def test_huge_numbers_in_any_field_are_answered_200_or_400(
    client: httpx.Client, field: str, number: int, explain: bool
) -> None:
    """Integers of up to a thousand digits, in every field, on v1 (predict and explain)
    and v2: a 400 naming the problem (or a price), never a 500."""
    content = json.dumps(one(**{field: number})).encode()
    answer = client.post(EXPLAIN if explain else PREDICT, content=content,
                         headers={"content-type": "application/json"})  # fmt: skip
    check_answer(answer)
    tensor = {"name": field, "shape": [1], "datatype": "INT64", "data": [number]}
    state = {"name": "state", "shape": [1], "datatype": "BYTES", "data": ["CT"]}
    v2 = {"inputs": [tensor] if field == "state" else [state, tensor]}
    check_answer(client.post(INFER, content=json.dumps(v2).encode(),
                             headers={"content-type": "application/json"}))  # fmt: skip
