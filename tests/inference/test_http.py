"""The predictor over real HTTP on loopback: v1 predict/explain, v2 infer, probes, metrics,
several versions side by side, and KServe's own client."""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from homeval.data.schema import INPUT_FIELDS, LISTING_FIELDS
from homeval.model.encoding import to_records
from tests.inference.conftest import Registry, Served, start_server, stop_server

GOOD_V1 = {"state": "CT", "city": "Hartford", "zip_code": "06103", "bed": 3}


def wait_for(check: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def sample(listings: pd.DataFrame, n: int, seed: int = 0) -> list[dict[str, object]]:
    """Real listings as a caller sends them (JSON types, dates as text)."""
    rows = to_records(listings.loc[:, list(INPUT_FIELDS)].sample(n, random_state=seed))
    for row in rows:
        if row["prev_sold_date"] is not None:
            row["prev_sold_date"] = str(row["prev_sold_date"])
    return rows


@pytest.fixture(scope="module")
def server(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    served = start_server({**registry.env(), "HOMEVAL_PREDICTOR_RELOAD_S": "30"}, log)
    try:
        yield served
    finally:
        stop_server(served)


@pytest.fixture(scope="module")
def client(server: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def production(registry: Registry):  # type: ignore[no-untyped-def]
    from homeval.registry.packaging import load_price_model

    saved = dict(os.environ)
    try:
        registry.use()
        return load_price_model("models:/house-price@production")
    finally:  # a module fixture: the environment it set would outlive every test
        os.environ.clear()
        os.environ.update(saved)


def test_predict_gives_the_registered_models_prices(
    client: httpx.Client, registry: Registry, production
) -> None:  # type: ignore[no-untyped-def]
    rows = sample(registry.listings, 60)
    response = client.post("/v1/models/house-price:predict", json={"instances": rows})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_name"] == "house-price"
    assert body["model_version"] == production.version
    np.testing.assert_allclose(
        body["predictions"], production.predict(pd.DataFrame(rows)), rtol=1e-9
    )


def test_lists_in_schema_order_are_listings_too(client: httpx.Client, registry: Registry) -> None:
    rows = sample(registry.listings, 5, seed=1)
    as_objects = client.post("/v1/models/house-price:predict", json={"instances": rows}).json()
    eleven = [[row[f] for f in INPUT_FIELDS] for row in rows]
    twelve = [[row.get(f, 123_456.0) for f in LISTING_FIELDS] for row in rows]  # price ignored
    for instances in (eleven, twelve):
        got = client.post("/v1/models/house-price:predict", json={"instances": instances})
        assert got.status_code == 200, got.text
        assert got.json()["predictions"] == as_objects["predictions"]


def test_interval_when_asked(client: httpx.Client, registry: Registry, production) -> None:  # type: ignore[no-untyped-def]
    from homeval.model.estimator import SEGMENTS
    from homeval.model.places import NOVELTY

    rows = sample(registry.listings, 10, seed=2)
    land = {**rows[0], "bed": None, "bath": None, "house_size": None}
    boston = {"state": "Massachusetts", "city": "Boston", "zip_code": "02108", "bed": 2}
    rows = [*rows, land, boston]
    plain = client.post("/v1/models/house-price:predict", json={"instances": rows}).json()
    asked = client.post(
        "/v1/models/house-price:predict",
        json={"instances": rows, "parameters": {"interval": True}},
    ).json()
    interval = production.interval
    assert asked["interval"] == {"coverage": pytest.approx(interval.coverage)}
    # the real rows calibrate houses and land apart, and land is priced less surely
    assert interval.house_log_halfwidth < interval.land_log_halfwidth
    segments = [item["segment"] for item in asked["predictions"]]
    assert set(segments) <= set(SEGMENTS)
    assert segments[-2].startswith("land:")
    assert segments[-1] == "house:new_state"  # no Massachusetts rows in the real folders
    for price, item in zip(plain["predictions"], asked["predictions"], strict=True):
        kind, place = item["segment"].split(":")
        width = float(interval.halfwidths(np.array([kind == "land"]), [NOVELTY.index(place)])[0])
        assert item["price"] == price
        assert item["lower"] == pytest.approx(price / math.exp(width))
        assert item["upper"] == pytest.approx(price * math.exp(width))
        assert item["lower"] < price < item["upper"]


def test_explain_adds_up_to_the_price(client: httpx.Client, registry: Registry) -> None:
    rows = sample(registry.listings, 8, seed=3)
    prices = client.post("/v1/models/house-price:predict", json={"instances": rows}).json()
    response = client.post("/v1/models/house-price:explain", json={"instances": rows})
    assert response.status_code == 200, response.text
    explanations = response.json()["explanations"]
    assert len(explanations) == len(rows)
    for price, item in zip(prices["predictions"], explanations, strict=True):
        assert item["price"] == pytest.approx(price, rel=1e-12)
        total = item["base_value"] + sum(item["contributions"].values())
        assert total == pytest.approx(math.log(price), abs=1e-9)
        assert item["base_price"] * math.prod(item["factors"].values()) == pytest.approx(price)
        assert set(item["contributions"]) >= {"state", "zip_code", "house_size", "bed"}
        assert "street" not in item["contributions"]  # carries no feature


def test_a_decision_tree_version_is_served_and_explained_side_by_side(
    client: httpx.Client, registry: Registry
) -> None:
    from homeval.registry.packaging import load_price_model

    names = client.get("/v1/models").json()["models"]
    assert {"house-price", "house-price-v1", "house-price-v2"} <= set(names)
    assert "house-price-v3" not in names  # no alias: not selected by "aliased"
    registry.use()
    tree = load_price_model("models:/house-price@challenger")
    assert tree.parts.kind == "decision_tree"
    rows = sample(registry.listings, 20, seed=4)
    body = client.post("/v1/models/house-price-v2:predict", json={"instances": rows}).json()
    assert body["model_version"] == tree.version
    np.testing.assert_allclose(body["predictions"], tree.predict(pd.DataFrame(rows)), rtol=1e-9)
    explained = client.post("/v1/models/house-price-v2:explain", json={"instances": rows[:3]})
    assert explained.status_code == 200, explained.text
    for price, item in zip(body["predictions"], explained.json()["explanations"], strict=False):
        total = item["base_value"] + sum(item["contributions"].values())
        assert total == pytest.approx(math.log(price), abs=1e-9)


def test_v2_infer_and_metadata(client: httpx.Client, registry: Registry) -> None:
    meta = client.get("/v2/models/house-price").json()
    inputs = {i["name"]: i["datatype"] for i in meta["inputs"]}
    assert list(inputs) == list(INPUT_FIELDS)
    assert inputs["bed"] == "FP64"
    assert inputs["state"] == "BYTES"
    outputs = {o["name"]: o["datatype"] for o in meta["outputs"]}
    assert outputs == {"price": "FP64", "lower": "FP64", "upper": "FP64", "segment": "BYTES"}
    assert client.get("/v2/models/house-price/ready").status_code == 200

    rows = sample(registry.listings, 6, seed=5)
    v1 = client.post(
        "/v1/models/house-price:predict",
        json={"instances": rows, "parameters": {"interval": True}},
    ).json()
    tensors = [
        {
            "name": name,
            "shape": [len(rows)],
            "datatype": inputs[name],
            "data": [row[name] for row in rows],
        }
        for name in INPUT_FIELDS
    ]
    response = client.post(
        "/v2/models/house-price/infer",
        json={"id": "r1", "inputs": tensors, "parameters": {"interval": True}},
    )
    assert response.status_code == 200, response.text
    outputs = {o["name"]: o for o in response.json()["outputs"]}
    assert response.json()["model_version"] == v1["model_version"]
    np.testing.assert_allclose(
        outputs["price"]["data"], [p["price"] for p in v1["predictions"]], rtol=1e-12
    )
    assert outputs["lower"]["data"] == [p["lower"] for p in v1["predictions"]]
    assert outputs["segment"]["datatype"] == "BYTES"
    assert outputs["segment"]["data"] == [p["segment"] for p in v1["predictions"]]
    assert all(s.split(":")[0] in ("house", "land") for s in outputs["segment"]["data"])
    assert all(
        lo < p < hi
        for lo, p, hi in zip(
            outputs["lower"]["data"],
            outputs["price"]["data"],
            outputs["upper"]["data"],
            strict=True,
        )
    )


def test_v2_edges_of_the_open_inference_protocol(client: httpx.Client, registry: Registry) -> None:
    meta = client.get("/v2/models/house-price").json()
    assert meta["platform"] == "lightgbm"
    served = client.post("/v1/models/house-price:predict", json={"instances": [GOOD_V1]}).json()
    assert meta["versions"] == [served["model_version"]]

    def tensors(**overrides: Any) -> list[dict[str, Any]]:
        columns = {"state": ["CT", "Connecticut"], "bed": [3.0, 2.0], **overrides}
        return [
            {"name": name, "shape": [2], "datatype": "FP64" if name == "bed" else "BYTES",
             "data": data}
            for name, data in columns.items()
        ]  # fmt: skip

    flat = client.post("/v2/models/house-price/infer", json={"inputs": tensors()})
    assert flat.status_code == 200, flat.text
    nested = tensors(state=[["CT"], ["Connecticut"]], bed=[[3.0], [2.0]])
    for tensor in nested:
        tensor["shape"] = [2, 1]
    as_shape = client.post("/v2/models/house-price/infer", json={"inputs": nested})
    assert as_shape.status_code == 200, as_shape.text
    assert as_shape.json()["outputs"] == flat.json()["outputs"]

    wrong = client.post("/v2/models/house-price/infer", json={"inputs": tensors(bed=[3.0, -1.0])})
    assert wrong.status_code == 400
    assert wrong.json()["error"].startswith("input bed, row 1: ")
    assert "instances" not in wrong.json()["error"]

    # a pinned version by the protocol's own path, or a clean 404
    pinned = client.get("/v2/models/house-price/versions/1")
    assert pinned.status_code == 200, pinned.text
    assert pinned.json()["versions"] == ["1"]
    by_version = client.post("/v2/models/house-price/versions/2/infer", json={"inputs": tensors()})
    assert by_version.status_code == 200, by_version.text
    assert by_version.json()["model_version"] == "2"
    assert client.get("/v2/models/house-price/versions/2/ready").status_code == 200
    missing = client.post("/v2/models/house-price/versions/3/infer", json={"inputs": tensors()})
    assert missing.status_code == 404
    assert "version 3 of house-price is not served" in missing.json()["error"]


def test_kserves_own_client_talks_to_it(server: Served, registry: Registry) -> None:
    from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig

    rows = [
        r for r in sample(registry.listings, 200, seed=6) if all(v is not None for v in r.values())
    ][:4]
    assert rows, "need complete rows for a v2 tensor request"

    async def run() -> tuple[dict, object, dict]:  # type: ignore[type-arg]
        v1 = InferenceRESTClient(RESTConfig(protocol="v1", timeout=30))
        v2 = InferenceRESTClient(RESTConfig(protocol="v2", timeout=30))
        predicted = await v1.infer(server.url, {"instances": rows}, model_name="house-price")
        explained = await v1.explain(server.url, "house-price", {"instances": rows})
        inputs = []
        for name in INPUT_FIELDS:
            numbers = name in ("bed", "bath", "acre_lot", "house_size")
            tensor = InferInput(name, [len(rows)], "FP64" if numbers else "BYTES")
            tensor.data = [float(r[name]) if numbers else str(r[name]) for r in rows]  # type: ignore[arg-type]
            inputs.append(tensor)
        inferred = await v2.infer(
            server.url, InferRequest("house-price", inputs), model_name="house-price"
        )
        assert await v2.is_server_ready(server.url)
        assert await v2.is_model_ready(server.url, "house-price")
        return predicted, inferred, explained  # type: ignore[return-value]

    predicted, inferred, explained = asyncio.run(run())
    assert len(predicted["predictions"]) == len(rows)
    np.testing.assert_allclose(
        inferred.outputs[0].data,  # type: ignore[attr-defined]
        predicted["predictions"],
        rtol=1e-12,
    )
    assert len(explained["explanations"]) == len(rows)


def test_no_request_can_unload_the_model(client: httpx.Client, registry: Registry) -> None:
    rows = sample(registry.listings, 2, seed=3)
    for verb in ("unload", "load"):
        answer = client.post(f"/v2/repository/models/house-price/{verb}")
        assert answer.status_code == 404, answer.text
    assert (
        client.post("/v1/models/house-price:predict", json={"instances": rows}).status_code == 200
    )
    assert client.get("/v2/health/ready").json() == {"ready": True}


def test_probes_and_metrics(client: httpx.Client, registry: Registry, production) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/").status_code == 200
    assert client.get("/v2/health/live").status_code == 200
    assert client.get("/v1/models/house-price").json() == {"name": "house-price", "ready": True}
    rows = sample(registry.listings, 3, seed=7)
    client.post("/v1/models/house-price:predict", json={"instances": rows})
    client.post("/v1/models/house-price:explain", json={"instances": rows[:1]})
    client.post("/v1/models/house-price:predict", json={"instances": []})
    client.post("/v1/models/no-such-model:predict", json={"instances": rows})
    text = client.get("/metrics").text
    assert "_created" not in text, "no *_created series doubling every metric"
    for name in (
        'request_preprocess_seconds_count{model_name="house-price"}',
        'request_predict_seconds_count{model_name="house-price"}',
        'request_postprocess_seconds_count{model_name="house-price"}',
        'request_explain_seconds_count{model_name="house-price"}',
        'homeval_predictor_requests_total{code="200",endpoint="predict",model_name="house-price"}',
        'homeval_predictor_requests_total{code="400",endpoint="predict",model_name="house-price"}',
        'homeval_predictor_requests_total{code="404",endpoint="predict",model_name="unknown"}',
        'homeval_predictor_request_seconds_bucket{endpoint="explain"',
        f'homeval_predictions_total{{model_name="house-price",version="{production.version}"}}',
        'homeval_prediction_errors_total{kind="invalid_input",model_name="house-price"}',
        f'homeval_model_info{{model_name="house-price",run_id="{production.resolved.run_id}",'
        f'version="{production.version}"}} 1.0',
        'homeval_predicted_price_dollars_bucket{le="100000.0",model_name="house-price"}',
        'homeval_model_reloads_total{model_name="house-price",outcome="success"} 1.0',
    ):
        assert name in text, name


def test_no_access_log_per_request_by_default(server: Served, client: httpx.Client) -> None:
    before = server.output().count("POST /v1/models")
    client.post("/v1/models/house-price:predict", json={"instances": [{"state": "CT"}]})
    assert server.output().count("POST /v1/models") == before == 0


def test_a_restart_onto_a_broken_artifact_serves_the_newest_version_that_loads(
    registry: Registry, tmp_path: Path
) -> None:
    """The alias points at a version whose artifact is gone: not 503 for good, but the
    newest version that loads, said in the log and the reload metric."""
    import shutil

    from mlflow import MlflowClient

    copy = tmp_path / "mlflow.db"
    shutil.copy(registry.home / "mlflow.db", copy)
    uri = f"sqlite:///{copy}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    newest = max(int(v.version) for v in client.search_model_versions("name='house-price'"))
    broken = client.create_model_version(
        "house-price", source=str(tmp_path / "no-such-artifact"), run_id=None
    )
    client.set_registered_model_alias("house-price", "production", broken.version)
    env = {
        **registry.env(),
        "MLFLOW_TRACKING_URI": uri,
        "HOMEVAL_MLFLOW_TRACKING_URI": uri,
        "HOMEVAL_PREDICTOR_RELOAD_S": "0.5",
        "HOMEVAL_PREDICTOR_VERSIONS": "none",
    }
    served = start_server(env, tmp_path / "server.log")
    try:
        with httpx.Client(base_url=served.url, timeout=10) as c:
            body = c.post("/v1/models/house-price:predict", json={"instances": [GOOD_V1]})
            assert body.status_code == 200, body.text
            assert body.json()["model_version"] == str(newest)
            text = c.get("/metrics").text
            assert (
                'homeval_model_reloads_total{model_name="house-price",outcome="fallback"}' in text
            )
    finally:
        stop_server(served)
    assert f"serving version {newest}, the newest that does" in served.output()


def test_not_ready_until_a_model_loads_and_then_ready(registry: Registry, tmp_path: Path) -> None:
    """The alias does not exist yet: alive, not ready, 503 — until it is set."""
    import shutil

    from mlflow import MlflowClient

    copy = tmp_path / "mlflow.db"
    shutil.copy(registry.home / "mlflow.db", copy)
    uri = f"sqlite:///{copy}"
    env = {
        **registry.env(),
        "MLFLOW_TRACKING_URI": uri,
        "HOMEVAL_MLFLOW_TRACKING_URI": uri,
        "HOMEVAL_MODEL_ALIAS": "later",
        "HOMEVAL_PREDICTOR_RELOAD_S": "0.5",
        "HOMEVAL_PREDICTOR_VERSIONS": "none",
    }
    served = start_server(env, tmp_path / "server.log", wait_ready=False)
    try:
        with httpx.Client(base_url=served.url, timeout=10) as c:
            assert c.get("/").status_code == 200
            assert c.get("/v1/models/house-price").status_code == 503
            assert c.get("/v2/health/ready").status_code == 503  # ready means a model serves
            answer = c.post("/v1/models/house-price:predict", json={"instances": [{"state": "CT"}]})
            assert answer.status_code == 503
            assert "not ready" in answer.json()["error"]
            failure = 'homeval_model_reloads_total{model_name="house-price",outcome="failure"}'
            assert wait_for(lambda: failure in c.get("/metrics").text)
            MlflowClient(tracking_uri=uri, registry_uri=uri).set_registered_model_alias(
                "house-price", "later", "3"
            )
            ready = wait_for(lambda: c.get("/v1/models/house-price").status_code == 200)
            assert ready, served.output()[-3000:]
            assert c.get("/v2/health/ready").json() == {"ready": True}
            body = c.post("/v1/models/house-price:predict", json={"instances": [{"state": "CT"}]})
            assert body.status_code == 200, body.text
            assert body.json()["model_version"] == "3"
    finally:
        stop_server(served)
    assert "not ready yet, will retry" in served.output()


@pytest.mark.browser
def test_the_api_docs_render_with_no_network_but_the_predictors(client: httpx.Client) -> None:
    """Swagger UI's scripts come from the predictor itself (FastAPI's default page loads
    them from a CDN and is blank where the browser reaches none)."""
    import shutil

    from playwright.sync_api import sync_playwright

    from tests.conftest import missing

    page_html = client.get("/docs")
    assert page_html.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in page_html.text
    assert "cdn" not in page_html.text.lower()
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    chromium = shutil.which("chromium") or missing("Debian chromium (make system-deps)")
    base = str(client.base_url).rstrip("/")
    elsewhere: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()

        def only_the_predictor(route: Any) -> None:
            if route.request.url.startswith(base):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        page.route("**/*", only_the_predictor)
        page.goto(f"{base}/docs")
        page.wait_for_selector(".opblock", timeout=30_000)  # the operations are listed
        text = page.inner_text("body")
        browser.close()
    assert ":predict" in text
    assert elsewhere == [], f"the docs page reached beyond the predictor: {elsewhere}"
