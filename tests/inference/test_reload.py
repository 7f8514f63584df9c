"""Hot reload under load: the alias moves while requests flow — zero failed requests, one
clean switch per client, and a version that fails to load leaves the old one serving."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.inference.conftest import Registry, start_server, stop_server
from tests.inference.test_http import sample, wait_for


@pytest.mark.slow
def test_alias_moves_during_load_with_zero_failed_requests(
    registry: Registry, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    copy = tmp_path / "mlflow.db"
    shutil.copy(registry.home / "mlflow.db", copy)
    uri = f"sqlite:///{copy}"
    mlflow = MlflowClient(tracking_uri=uri, registry_uri=uri)
    env = {
        **registry.env(),
        "MLFLOW_TRACKING_URI": uri,
        "HOMEVAL_MLFLOW_TRACKING_URI": uri,
        "HOMEVAL_PREDICTOR_RELOAD_S": "0.3",
        "HOMEVAL_PREDICTOR_VERSIONS": "none",
    }
    served = start_server(env, tmp_path / "server.log")
    rows = sample(registry.listings, 5, seed=11)
    stop = threading.Event()
    seen: list[list[tuple[int, str | None]]] = [[] for _ in range(4)]

    def hammer(out: list[tuple[int, str | None]]) -> None:
        with httpx.Client(base_url=served.url, timeout=30) as c:
            while not stop.is_set():
                r = c.post("/v1/models/house-price:predict", json={"instances": rows})
                version = r.json().get("model_version") if r.status_code == 200 else None
                out.append((r.status_code, version))

    threads = [threading.Thread(target=hammer, args=(out,)) for out in seen]
    try:
        for t in threads:
            t.start()
        time.sleep(1.5)
        mlflow.set_registered_model_alias("house-price", "production", "3")
        assert wait_for(lambda: any(v == "3" for out in seen for _, v in out[-3:]))
        time.sleep(1.0)
        # a version whose files are gone: the load fails, version 3 keeps serving
        broken = mlflow.create_model_version("house-price", source=str(tmp_path / "gone"))
        mlflow.set_registered_model_alias("house-price", "production", broken.version)
        failure = 'homeval_model_reloads_total{model_name="house-price",outcome="failure"}'
        with httpx.Client(base_url=served.url, timeout=10) as c:
            assert wait_for(lambda: failure in c.get("/metrics").text)
            time.sleep(1.0)
            metrics = c.get("/metrics").text
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        stop_server(served)

    answers = [a for out in seen for a in out]
    assert len(answers) > 100, "the load was too light to mean anything"
    assert [a for a in answers if a[0] != 200] == [], "requests failed during the reloads"
    for out in seen:
        versions = [v for _, v in out]
        switch = versions.index("3")
        assert set(versions[:switch]) == {"1"}
        assert set(versions[switch:]) == {"3"}, "a client went back to an old version"
    assert 'homeval_model_info{model_name="house-price",run_id=' in metrics
    assert 'version="3"} 1.0' in metrics
    assert 'version="1"} 1.0' not in metrics
    assert 'homeval_model_reloads_total{model_name="house-price",outcome="success"} 2.0' in metrics
    log = served.output()
    assert "keeping the version it serves" in log
    assert "now serves version 3" in log
