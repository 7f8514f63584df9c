"""The Airflow image's Dockerfile read as text: one Airflow version everywhere, and the DAG
laid out where it looks for its pipeline (hadolint and the copy sources are checked for
every Dockerfile by test_dockerfiles.py; test_airflow.py builds and runs the image)."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from tests.conftest import REPO

DAGS_FOLDER = REPO / "pipelines" / "dags"

DOCKERFILE = DAGS_FOLDER / "Dockerfile"


def locked_version(package: str) -> str:
    lock = (DAGS_FOLDER / "requirements.lock").read_text()
    found = re.search(rf"^{re.escape(package)}==(\S+)", lock, re.MULTILINE)
    assert found, f"{package} is not pinned in requirements.lock"
    return found.group(1)


def dockerfile_version() -> str:
    found = re.search(r"^ARG AIRFLOW_VERSION=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert found, "the Dockerfile must name its Airflow version in ARG AIRFLOW_VERSION"
    return found.group(1)


def test_the_image_is_the_official_python_3_11_airflow_of_the_lock() -> None:
    text = DOCKERFILE.read_text()
    # the base is a build argument whose default is the official image of that version
    assert "ARG BASE_IMAGE=apache/airflow:${AIRFLOW_VERSION}-python3.11" in text
    assert "FROM ${BASE_IMAGE}" in text
    assert dockerfile_version() == locked_version("apache-airflow")
    assert "requirements.lock" in text


def test_the_chart_runs_the_same_airflow_version() -> None:
    values = REPO / "manifests" / "base" / "airflow" / "values.yaml"
    if not values.exists():
        pytest.skip("no Helm values for Airflow in this checkout")
    chart = yaml.safe_load(values.read_text())
    assert str(chart["airflowVersion"]) == dockerfile_version()


def copied_sources() -> list[str]:
    sources: list[str] = []
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY "):
            words = shlex.split(line)
            sources += [w for w in words[1:-1] if not w.startswith("--")]
    return sources


def test_the_dag_and_its_helpers_are_copied_into_the_image() -> None:
    sources = copied_sources()
    assert "pipelines/dags/homeval_pipeline.py" in sources
    assert "pipelines/dags/homeval_trigger/" in sources
    assert "pipelines/dags/requirements.lock" in sources
    assert "pipelines/house_price_pipeline.yaml" in sources
    assert "packages/contract/" in sources, "the DAG imports homeval_contract"
    for source in sources:
        assert (REPO / source).exists(), f"the Dockerfile copies {source}, which does not exist"


def test_the_contract_is_installed_without_dependencies() -> None:
    """homeval_contract needs nothing beyond the lock (kfp), and must not swap any pin."""
    runs = [line for line in DOCKERFILE.read_text().splitlines() if line.startswith("RUN ")]
    assert any("pip install" in r and "--no-deps" in r and "homeval-contract" in r for r in runs)
