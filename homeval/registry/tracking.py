"""Point MLflow at the platform's tracking server and experiment, from settings.

Every process that talks to MLflow (pipeline steps, predictor, UI) calls ``configure``
first, so the embedded default (SQLite + a local artifact folder under HOMEVAL_HOME) and
a cluster (tracking server + S3) differ only in environment variables.
"""

from __future__ import annotations

import os
from typing import Any, Final

from homeval.platform.settings import Settings


def configure(settings: Settings, *, create_experiment: bool = True) -> str | None:
    """Set URIs (and S3 credentials) for this process; return the experiment id."""
    import mlflow

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    if settings.mlflow_s3_endpoint_url:
        os.environ["MLFLOW_S3_ENDPOINT_URL"] = settings.mlflow_s3_endpoint_url
    for name in ("aws_access_key_id", "aws_secret_access_key", "mlflow_tracking_password"):
        secret = getattr(settings, name)
        if secret is not None:
            os.environ[name.upper()] = secret.get_secret_value()
    if settings.mlflow_tracking_username:  # MLflow's client sends it with every request
        os.environ["MLFLOW_TRACKING_USERNAME"] = settings.mlflow_tracking_username
    if settings.mlflow_tracking_uri.startswith("sqlite:"):
        settings.ensure_home()
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_registry_uri(settings.mlflow_registry_uri)
    if not create_experiment:
        return None
    found = experiment_id(settings)
    mlflow.set_experiment(experiment_id=found)  # runs never land in MLflow's "Default"
    return found


EXPERIMENT_KIND: Final = ("mlflow.experimentKind", "custom_model_development")
"""MLflow 3's UI opens an experiment without this tag on its GenAI view ("Traces 0, No
data"); marked as model development it opens on the runs and models."""


def experiment_id(settings: Settings) -> str:
    """The platform's experiment, created with the configured artifact root if new, and
    marked as model development (also when an older homeval created it unmarked)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    key, kind = EXPERIMENT_KIND
    found = client.get_experiment_by_name(settings.mlflow_experiment)
    if found is None:
        try:
            return str(
                client.create_experiment(
                    settings.mlflow_experiment,
                    artifact_location=settings.mlflow_artifact_root,
                    tags={key: kind},
                )
            )
        except MlflowException:  # created concurrently by another step
            found = client.get_experiment_by_name(settings.mlflow_experiment)
            assert found is not None
    if found.tags.get(key) != kind:
        client.set_experiment_tag(found.experiment_id, key, kind)
    return str(found.experiment_id)


def client() -> Any:
    """An ``MlflowClient`` of this process's tracking server and registry (as
    ``configure`` set them)."""
    from mlflow import MlflowClient

    return MlflowClient()


def fail_fast_client(settings: Settings, *, timeout_s: float) -> Any:
    """An ``MlflowClient`` for a page that must answer: no retries, ``timeout_s`` a request
    (MLflow's defaults retry a server that is down for minutes)."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(int(max(1, timeout_s))))
    from mlflow import MlflowClient

    configure(settings, create_experiment=False)
    return MlflowClient(
        tracking_uri=settings.mlflow_tracking_uri, registry_uri=settings.mlflow_registry_uri
    )
