"""The model path in containers, as the cluster runs it.

The pipeline runs in the component image (KFP's ``DockerRunner``: collect → process →
gates → drift → train → promote), against the feed container, a PostgreSQL store and the
homeval-mlflow container whose artifacts go to S3 (moto on loopback) — configured only by
what the ConfigMap and Secrets give a step.  The predictor container then serves what
that run promoted (``models:/house-price@production`` from the MLflow server) to KServe's
own client, follows an alias move without a failed request, and the UI container prices a
listing through it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pandas as pd
import pytest

from tests.conftest import free_port, mlflow_at
from tests.images.conftest import BUCKET, Container, Stack, cluster_env, s3_client

pytestmark = pytest.mark.slow

PREDICTOR_LEAVES_OUT = ("gradio", "matplotlib", "kfp", "evidently", "plotly", "statsmodels")


def test_the_run_left_its_model_in_s3(stack: Stack) -> None:
    listed = s3_client(stack.s3_url).list_objects_v2(Bucket=BUCKET).get("Contents", [])
    keys = [item["Key"] for item in listed]
    assert sum(key.endswith("/MLmodel") for key in keys) >= 2, keys[:20]


@pytest.fixture
def predictor(
    built: Callable[[str], str], run_container: Callable[..., Container], stack: Stack
) -> tuple[str, Container]:
    port = free_port()
    env = cluster_env(MLFLOW_TRACKING_URI=stack.mlflow_url) | {
        "HOMEVAL_PREDICTOR_PORT": str(port),
        "HOMEVAL_PREDICTOR_RELOAD_S": "0.5",
    }
    container = run_container(built("inference"), env)
    url = f"http://127.0.0.1:{port}"
    ready = container.wait_http(f"{url}/v1/models/house-price", timeout=180)
    assert ready.json()["ready"] is True
    return url, container


def rows_of(listings: pd.DataFrame, n: int, seed: int) -> list[dict[str, Any]]:
    """Complete real listings as a caller sends them (a v2 tensor has no nulls)."""
    from tests.inference.test_http import sample

    rows = [r for r in sample(listings, 400, seed=seed) if None not in r.values()]
    assert len(rows) >= n, "need complete rows for a v2 tensor request"
    return rows[:n]


def test_the_predictor_container_serves_what_the_run_promoted_to_kserve_clients(
    predictor: tuple[str, Container], stack: Stack
) -> None:
    from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig

    from homeval.data.schema import INPUT_FIELDS
    from homeval.data.validation import parse_listing
    from homeval.registry.packaging import load_pricer

    url, container = predictor
    container.assert_runs_as_the_manifests_say()
    # the predictor image carries none of the UI's or the pipeline's frameworks
    probe = "import importlib.util as u; print(*[m for m in {} if u.find_spec(m)])"
    present = container.exec("python3", "-c", probe.format(PREDICTOR_LEAVES_OUT)).split()
    assert not present, f"the predictor image installs {present}"
    rows = rows_of(stack.listings, 4, seed=3)
    with mlflow_at(stack.mlflow_url):
        reference = load_pricer(f"models:/house-price/{stack.promoted}")
    expected = reference.prices([parse_listing(r) for r in rows]).tolist()

    async def ask() -> tuple[dict[str, Any], Any]:
        v1 = InferenceRESTClient(RESTConfig(protocol="v1", timeout=30))
        v2 = InferenceRESTClient(RESTConfig(protocol="v2", timeout=30))
        one = await v1.infer(url, {"instances": rows}, model_name="house-price")
        inputs = []
        for name in INPUT_FIELDS:
            numbers = name in ("bed", "bath", "acre_lot", "house_size")
            tensor = InferInput(name, [len(rows)], "FP64" if numbers else "BYTES")
            tensor.data = [float(r[name]) if numbers else str(r[name]) for r in rows]
            inputs.append(tensor)
        two = await v2.infer(url, InferRequest("house-price", inputs), model_name="house-price")
        return one, two

    one, two = asyncio.run(ask())
    assert one["model_version"] == stack.promoted
    assert one["predictions"] == pytest.approx(expected, rel=1e-9)
    assert list(two.outputs[0].data) == pytest.approx(expected, rel=1e-9)


def test_the_predictor_container_follows_an_alias_move_without_a_failed_request(
    predictor: tuple[str, Container], stack: Stack
) -> None:
    from mlflow import MlflowClient

    url, _ = predictor
    rows = rows_of(stack.listings, 3, seed=5)
    client = MlflowClient(tracking_uri=stack.mlflow_url, registry_uri=stack.mlflow_url)
    seen: list[tuple[int, str | None]] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=url, timeout=30) as c:
            while not stop.is_set():
                r = c.post("/v1/models/house-price:predict", json={"instances": rows})
                seen.append(
                    (r.status_code, r.json().get("model_version") if r.is_success else None)
                )

    worker = threading.Thread(target=hammer)
    worker.start()
    try:
        time.sleep(1.0)
        client.set_registered_model_alias("house-price", "production", stack.other)
        deadline = time.monotonic() + 60
        while not any(v == stack.other for _, v in seen[-3:]) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        stop.set()
        worker.join()
        client.set_registered_model_alias("house-price", "production", stack.promoted)
    failed = [status for status, _ in seen if status != 200]
    assert not failed, f"{len(failed)} of {len(seen)} requests failed: {failed[:5]}"
    versions = [version for _, version in seen]
    assert versions[0] == stack.promoted
    assert versions[-1] == stack.other
    switch = versions.index(stack.other)
    assert set(versions[switch:]) == {stack.other}, "the served version went back and forth"


def test_the_ui_container_prices_a_listing_through_the_predictor_container(
    predictor: tuple[str, Container],
    built: Callable[[str], str],
    run_container: Callable[..., Container],
    stack: Stack,
) -> None:
    from gradio_client import Client

    predictor_url, _ = predictor
    port = free_port()
    env = cluster_env(MLFLOW_TRACKING_URI=stack.mlflow_url, HOMEVAL_PREDICTOR_URL=predictor_url)
    ui = run_container(built("ui"), env | {"HOMEVAL_UI_PORT": str(port)})
    ui.wait_http(f"http://127.0.0.1:{port}/healthz")
    listing = {"state": "Connecticut", "city": "Hartford", "zip_code": "06103", "bed": 3,
               "bath": 2, "house_size": 1500}  # fmt: skip
    answer = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
        **listing, api_name="/price_listing"
    )
    direct = httpx.post(
        f"{predictor_url}/v1/models/house-price:predict", json={"instances": [listing]}, timeout=30
    ).json()
    assert answer["model_version"] == direct["model_version"] == stack.promoted
    assert answer["price"] == pytest.approx(direct["predictions"][0], rel=1e-9)
    assert answer["lower"] < answer["price"] < answer["upper"]
