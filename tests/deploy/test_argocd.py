"""The Argo CD app of apps: valid objects, paths that exist and render, ordered waves.

The Airflow chart itself cannot be rendered offline (it lives in the chart repository);
its Application object and its values file are checked instead.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.deploy import cluster

APPS = cluster.argocd_applications()
APP_IDS = [app.name for app in APPS]
PRODUCTION = REPO / "manifests/overlays/production"


def _argocd_objects() -> list[dict[str, Any]]:
    return [
        doc
        for file in sorted(cluster.ARGOCD.rglob("*.yaml"))
        if file.name != "kustomization.yaml"
        for doc in yaml.safe_load_all(file.read_text())
        if doc
    ]


def test_every_argocd_object_validates_against_its_crd(crd_dir: Path) -> None:
    objects = _argocd_objects()
    assert {o["kind"] for o in objects} == {"Application", "AppProject"}
    errors = {
        cluster.object_id(o): e for o in objects if (e := cluster.validation_errors(o, crd_dir))
    }
    assert not errors


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_every_application_path_exists_and_renders(
    app: cluster.ArgoApp, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    for source in app.sources:
        if "chart" in source or "ref" in source:
            continue
        assert (REPO / source["path"]).is_dir(), f"{app.name}: {source['path']} does not exist"
        assert rendered[source["path"]], f"{app.name}: {source['path']} renders nothing"


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_every_application_syncs_automatically_with_prune_and_self_heal(
    app: cluster.ArgoApp,
) -> None:
    automated = app.obj["spec"]["syncPolicy"]["automated"]
    assert automated == {"prune": True, "selfHeal": True}
    assert app.obj["spec"]["project"] == "homeval"


def test_root_renders_exactly_the_children(rendered: dict[str, list[dict[str, Any]]]) -> None:
    root = next(app for app in APPS if app.file.name == "root.yaml")
    children = rendered[str(root.path)]
    on_disk = {a.name for a in APPS if a.file.parent == cluster.ARGOCD / "apps"}
    assert {c["metadata"]["name"] for c in children} == on_disk
    assert len(children) == len(on_disk)


def test_one_child_per_production_part() -> None:
    parts = {p.name for p in PRODUCTION.iterdir() if p.is_dir() and p.name != "images"}
    paths = {
        app.path
        for app in APPS
        if app.path and app.path.startswith(str(PRODUCTION.relative_to(REPO)))
    }
    assert paths == {f"manifests/overlays/production/{part}" for part in parts}


def test_sync_waves_go_storage_mlflow_predictor_ui_monitoring() -> None:
    wave = {app.name.removeprefix("homeval-"): app.wave for app in APPS}
    assert wave["platform"] < wave["postgres"] == wave["minio"]
    assert wave["minio"] < wave["mlflow"] < wave["predictor"] < wave["ui"]
    assert wave["ui"] < wave["prometheus"] == wave["grafana"]
    assert wave["postgres"] < wave["airflow"]


def test_sources_and_destinations_are_allowed_by_the_project() -> None:
    project = next(o for o in _argocd_objects() if o["kind"] == "AppProject")
    repos = set(project["spec"]["sourceRepos"])
    targets = {d["namespace"] for d in project["spec"]["destinations"]}
    git_urls = set()
    for app in APPS:
        for source in app.sources:
            assert source["repoURL"] in repos, f"{app.name}: {source['repoURL']}"
            if "chart" not in source:
                git_urls.add(source["repoURL"])
        assert app.obj["spec"]["destination"]["namespace"] in targets
    assert len(git_urls) == 1, f"one repository for every app, got {git_urls}"


AIRFLOW = next(app for app in APPS if app.name == "homeval-airflow")


def test_airflow_is_the_official_chart_at_a_pinned_version() -> None:
    chart = next(s for s in AIRFLOW.sources if "chart" in s)
    assert chart["repoURL"] == "https://airflow.apache.org"
    assert chart["chart"] == "airflow"
    assert re.fullmatch(r"\d+\.\d+\.\d+", chart["targetRevision"]), "pin an exact version"
    refs = {s["ref"]: s for s in AIRFLOW.sources if "ref" in s}
    for value_file in chart["helm"]["valueFiles"]:
        ref, _, path = value_file.partition("/")
        assert ref.startswith("$")
        assert ref[1:] in refs, f"{value_file}: no source with ref {ref[1:]}"
        assert (REPO / path).is_file(), f"{value_file}: {path} does not exist"


def test_airflow_values_use_the_homeval_image_and_secrets_by_name(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    values = yaml.safe_load((REPO / "manifests/base/airflow/values.yaml").read_text())
    assert values["defaultAirflowRepository"].endswith("/homeval-airflow")
    assert values["airflowVersion"].startswith("3.")
    assert values["postgresql"]["enabled"] is False
    assert values["dags"]["gitSync"]["enabled"] is False
    # Argo CD renders with `helm template`: no Helm hooks, the migration is a Sync hook.
    assert values["migrateDatabaseJob"]["useHelmHooks"] is False
    assert values["createUserJob"]["useHelmHooks"] is False
    secrets = {
        o["spec"]["target"]["name"]
        for o in rendered["manifests/overlays/production/airflow"]
        if o["kind"] == "ExternalSecret"
    }
    named = {
        values["data"]["metadataSecretName"],
        values["fernetKeySecretName"],
        values["apiSecretKeySecretName"],
    }
    assert named <= secrets
    env = {e["name"]: e["value"] for e in values["env"]}
    assert env["HOMEVAL_DAG_MODE"] == "cluster"
    assert env["HOMEVAL_KFP_HOST"].startswith("http://ml-pipeline.kubeflow")
