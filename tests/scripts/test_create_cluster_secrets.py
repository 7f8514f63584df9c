"""The dev overlay's Secrets, made by scripts/create-cluster-secrets.sh, cover every
reference in the rendered manifests and hold usable, fresh random values."""

from __future__ import annotations

import base64
import subprocess

import pytest
import sqlalchemy as sa
import yaml

from tests.conftest import REPO, on_path
from tests.deploy import cluster

SCRIPT = REPO / "scripts/create-cluster-secrets.sh"


@pytest.fixture(scope="module")
def kubectl() -> str:
    return on_path("kubectl", "it runs the script's manifests through kubectl")


def _secrets() -> dict[tuple[str, str], dict[str, str]]:
    out = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, check=True)
    found = {}
    for doc in yaml.safe_load_all(out.stdout):
        if doc:
            assert doc["kind"] == "Secret"
            data = {k: base64.b64decode(v).decode() for k, v in doc["data"].items()}
            found[(doc["metadata"]["namespace"], doc["metadata"]["name"])] = data
    return found


@pytest.fixture(scope="module")
def secrets(kubectl: str) -> dict[tuple[str, str], dict[str, str]]:
    return _secrets()


def test_every_secret_reference_of_the_dev_overlay_is_provided(
    kubectl: str, secrets: dict[tuple[str, str], dict[str, str]]
) -> None:
    objects = cluster.render(kubectl, REPO / "manifests/overlays/dev")
    wanted = cluster.secret_refs(objects)
    values = yaml.safe_load((REPO / "manifests/base/airflow/values.yaml").read_text())
    wanted |= {
        ("airflow", values["data"]["metadataSecretName"], "connection"),
        ("airflow", values["fernetKeySecretName"], "fernet-key"),
        ("airflow", values["apiSecretKeySecretName"], "api-secret-key"),
        ("kubeflow", "homeval-db", "url"),
        # the compiled pipeline's steps: MLflow's write key
        ("kubeflow", "homeval-mlflow-writer", "username"),
        ("kubeflow", "homeval-mlflow-writer", "password"),
    }
    provided = {(ns, name, key) for (ns, name), data in secrets.items() for key in data}
    assert wanted <= provided, f"missing: {sorted(wanted - provided)}"


def test_values_are_usable(secrets: dict[tuple[str, str], dict[str, str]]) -> None:
    db = secrets[("homeval", "homeval-db")]
    url = sa.make_url(db["url"])
    assert (url.username, url.password, url.database) == (db["username"], db["password"], "homeval")
    assert sa.make_url(db["mlflow-url"]).drivername == "postgresql+psycopg"
    assert sa.make_url(secrets[("airflow", "airflow-metadata")]["connection"]).database == "airflow"
    assert (
        len(base64.urlsafe_b64decode(secrets[("airflow", "airflow-fernet-key")]["fernet-key"]))
        == 32
    )
    assert secrets[("kubeflow", "homeval-db")] == db
    assert len(db["password"]) >= 24


def test_each_run_makes_new_random_values(
    kubectl: str, secrets: dict[tuple[str, str], dict[str, str]]
) -> None:
    again = _secrets()
    assert (
        again[("homeval", "homeval-db")]["password"]
        != secrets[("homeval", "homeval-db")]["password"]
    )
