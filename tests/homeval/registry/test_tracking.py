"""The platform's MLflow experiment is found or made once, marked as model development."""

from __future__ import annotations

from pathlib import Path

from mlflow import MlflowClient

from homeval.platform.settings import Settings
from homeval.registry.tracking import EXPERIMENT_KIND, configure, experiment_id


def test_the_experiment_opens_on_runs_and_models_in_mlflows_ui(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings = Settings(home=tmp_path / "home", mlflow_tracking_uri=uri)
    found = configure(settings)
    client = MlflowClient(tracking_uri=uri)
    key, kind = EXPERIMENT_KIND
    assert kind == "custom_model_development"
    assert client.get_experiment(found).tags[key] == kind
    assert experiment_id(settings) == found  # found again, not made twice


def test_an_experiment_made_before_the_mark_gets_it(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings = Settings(home=tmp_path / "home", mlflow_tracking_uri=uri)
    client = MlflowClient(tracking_uri=uri)
    configure(settings, create_experiment=False)
    older = client.create_experiment(settings.mlflow_experiment)
    assert EXPERIMENT_KIND[0] not in client.get_experiment(older).tags
    assert experiment_id(settings) == older
    assert client.get_experiment(older).tags[EXPERIMENT_KIND[0]] == EXPERIMENT_KIND[1]
