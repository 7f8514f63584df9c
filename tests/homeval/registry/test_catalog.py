from __future__ import annotations

import os

import mlflow
import pytest
from mlflow import MlflowClient

from homeval.data.store import Store
from homeval.platform.settings import Settings
from homeval.registry.catalog import (
    RegistryUnavailableError,
    list_versions,
    promotion_times,
)
from homeval.registry.tracking import configure
from tests.conftest import free_port


def _version(client: MlflowClient, name: str, metrics: dict[str, float], kind: str) -> str:
    """A registered version whose run carries metrics (no model needs fitting for this)."""
    with mlflow.start_run() as run:
        mlflow.log_metrics(metrics)
        mlflow.log_param("kind", kind)
    mv = client.create_model_version(name, f"{run.info.artifact_uri}/model", run.info.run_id)
    return str(mv.version)


def test_versions_aliases_metrics_and_production_since() -> None:
    settings = Settings()
    configure(settings)
    client = MlflowClient()
    store = Store(settings.database_url)
    store.init()
    assert list_versions(client, settings.model_name) == []  # nothing registered yet

    client.create_registered_model(settings.model_name)
    v1 = _version(client, settings.model_name, {"test_mdape": 0.2, "test_r2_log": 0.8}, "lightgbm")
    v2 = _version(client, settings.model_name, {"mdape": 0.3, "rmse": 1e5}, "decision_tree")
    client.set_registered_model_alias(settings.model_name, "production", v1)
    client.set_registered_model_alias(settings.model_name, "challenger", v2)
    store.log_training(step="promote", status="promoted", message="first", model_version=v1)
    store.log_training(step="promote", status="kept_champion", message="no", model_version=v2)

    promotions = promotion_times(store)
    assert set(promotions) == {v1}
    versions = list_versions(client, settings.model_name, promotions=promotions)
    assert [v.version for v in versions] == [v2, v1]  # newest first
    newest, production = versions
    assert production.aliases == ("production",)
    assert production.production_since == promotions[v1]
    assert production.since_source == "trainlogs"
    assert production.kind == "lightgbm"
    assert production.metrics == {"test_mdape": 0.2, "test_r2_log": 0.8}
    assert newest.aliases == ("challenger",)
    assert newest.production_since is None
    assert newest.metrics == {"mdape": 0.3, "rmse": 1e5}

    # without a logged promotion the registry's update time stands in
    fallback = list_versions(client, settings.model_name, promotions={})
    assert fallback[1].since_source == "registry"
    assert fallback[1].production_since is not None
    store.dispose()


def test_an_unreachable_registry_raises_a_readable_error() -> None:
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "2"
    down = f"http://127.0.0.1:{free_port()}"
    client = MlflowClient(tracking_uri=down, registry_uri=down)
    with pytest.raises(RegistryUnavailableError, match="registry"):
        list_versions(client, "house-price")
