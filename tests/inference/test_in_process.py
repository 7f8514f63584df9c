"""The same app in process (ASGI, no socket): the model object, its steps and its answers."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import httpx
import orjson
import pytest

from homeval.data.validation import parse_listing
from homeval.platform.settings import Settings
from homeval.registry.packaging import load_pricer
from inference.model import HousePriceModel, PriceRequest
from inference.server import PredictorServer
from tests.inference.conftest import Registry
from tests.inference.test_http import sample


@pytest.fixture
def server(registry: Registry) -> PredictorServer:
    registry.use()
    server = PredictorServer(Settings(predictor_versions="none"))
    server.main_slot.swap(load_pricer("models:/house-price@production"))
    model = server.registered_models.get_model("house-price")
    assert isinstance(model, HousePriceModel)
    model.ready = True
    return server


def test_asgi_predict_explain_and_not_found(server: PredictorServer, registry: Registry) -> None:
    app = server.rest_server().create_app()
    rows = sample(registry.listings, 4, seed=21)

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://predictor") as c:
            return [
                await c.post("/v1/models/house-price:predict", json={"instances": rows}),
                await c.post("/v1/models/house-price:explain", json={"instances": rows[:1]}),
                await c.post("/v1/models/house-price:predict", json={"instances": [{}]}),
                await c.get("/v1/models/other"),
            ]

    predict, explain, bad, missing = asyncio.run(run())
    assert predict.status_code == 200
    assert len(predict.json()["predictions"]) == 4
    item = explain.json()["explanations"][0]
    assert item["base_value"] + sum(item["contributions"].values()) == pytest.approx(
        math.log(predict.json()["predictions"][0])
    )
    assert bad.status_code == 400
    assert bad.json() == {"error": "instances[0]: state: missing (required)"}
    assert missing.status_code == 404


def test_a_request_keeps_the_pricer_it_started_with(
    server: PredictorServer, registry: Registry
) -> None:
    """predict takes the slot's pricer once; a swap after that does not touch the request."""
    model = server.registered_models.get_model("house-price")
    assert isinstance(model, HousePriceModel)
    request = model.preprocess({"instances": sample(registry.listings, 3, seed=22)})
    assert isinstance(request, PriceRequest)
    first = asyncio.run(model.predict(request))
    server.main_slot.swap(load_pricer("models:/house-price/3"))
    answer = model.postprocess(first)
    assert isinstance(answer, dict)
    assert answer["model_version"] == "1"
    again = asyncio.run(model.predict(request))
    assert model.postprocess(again)["model_version"] == "3"  # type: ignore[index]


def test_the_fast_route_answers_exactly_as_kserves_route(
    server: PredictorServer, registry: Registry
) -> None:
    rest = server.rest_server()
    fast_app = rest.create_app()
    rest.fast_path = False
    kserve_app = rest.create_app()
    rows = sample(registry.listings, 3, seed=23)
    calls: list[tuple[str, dict[str, str], bytes]] = [
        (":predict", {}, orjson.dumps({"instances": rows})),
        (":predict", {}, orjson.dumps({"instances": rows, "parameters": {"interval": True}})),
        (":explain", {}, orjson.dumps({"instances": rows[:1]})),
        (":predict", {}, orjson.dumps({"instances": [{"state": "XX"}]})),
        (":predict", {}, b"[1, 2"),
        (":predict", {}, b"null"),
        (":explain", {}, orjson.dumps({"instances": []})),
        (":predict", {"content-type": "text/plain"}, orjson.dumps({"instances": rows})),
        (":predict", {"content-type": "text/plain"}, b"state=CT"),
        (
            ":predict",
            {},
            orjson.dumps(
                {
                    "specversion": "1.0",
                    "type": "listing",
                    "source": "test",
                    "id": "1",
                    "time": "2026-01-01T00:00:00Z",
                    "data": {"instances": rows},
                }
            ),
        ),
        (":predict", {"content-type": "application/json; charset=utf-8"}, b'{"instances": 3}'),
    ]

    async def run(app: object) -> list[tuple[int, object]]:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://predictor") as c:
            out = []
            for verb, headers, content in calls:
                sent = {"content-type": "application/json", **headers}
                r = await c.post(f"/v1/models/house-price{verb}", content=content, headers=sent)
                out.append((r.status_code, r.json()))
            return out

    fast, plain = asyncio.run(run(fast_app)), asyncio.run(run(kserve_app))
    for (verb, _, content), got, expected in zip(calls, fast, plain, strict=True):
        assert got[0] == expected[0], (verb, content)
        if got[0] == 400:
            # KServe prefixes its JSON errors the same way; the field-level text is identical
            assert got[1]["error"].split(":")[0] == expected[1]["error"].split(":")[0]  # type: ignore[index]
        else:
            assert got == expected, (verb, content)


def test_a_local_model_folder_is_served_too(registry: Registry, tmp_path: Path) -> None:
    """HOMEVAL_PREDICTOR_MODEL_URI may name a folder (an MLflow model directory)."""
    import mlflow

    registry.use()
    folder = mlflow.artifacts.download_artifacts(
        artifact_uri="models:/house-price/1", dst_path=str(tmp_path / "model")
    )
    server = PredictorServer(Settings(predictor_model_uri=folder, predictor_versions="none"))
    assert server.watcher.poll() is True
    pricer = server.main_slot.pricer
    assert pricer.version is None
    assert pricer.forest is not None
    assert server.watcher.poll() is False  # a folder does not move: nothing to reload
    rows = sample(registry.listings, 5, seed=24)
    reference = load_pricer("models:/house-price/1")
    model = server.registered_models.get_model("house-price")
    assert isinstance(model, HousePriceModel)
    answer = model.postprocess(asyncio.run(model.predict(model.preprocess({"instances": rows}))))
    assert (
        answer["predictions"]
        == reference.prices(  # type: ignore[index]
            [parse_listing(r) for r in rows]
        ).tolist()
    )
    assert answer["model_version"] is None  # type: ignore[index]


def test_the_server_loop_is_uvloop() -> None:
    """KServe's _serve runs inside our own event loop, so uvicorn's "auto" never picks
    uvloop for us: the server must ask for it (about 15 % of a 100-listing request)."""
    import uvloop

    from inference.server import _loop_factory

    assert _loop_factory() is uvloop.new_event_loop


def test_a_version_no_longer_served_leaves_no_model_info(registry: Registry) -> None:
    from prometheus_client import REGISTRY

    registry.use()
    server = PredictorServer(Settings(predictor_versions="none"))
    pricer = load_pricer("models:/house-price/2")
    server._added("house-price-v2", server.main_slot)
    server._swapped("house-price-v2", pricer, None)

    def served(name: str) -> float | None:
        labels = {"model_name": name, "version": "2", "run_id": pricer.run_id or ""}
        return REGISTRY.get_sample_value("homeval_model_info", labels)

    assert served("house-price-v2") == 1.0
    server._removed("house-price-v2")
    assert served("house-price-v2") is None
