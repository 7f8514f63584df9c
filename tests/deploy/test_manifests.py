"""Every overlay renders and every object in it would be accepted by a cluster.

Beyond schema validity, the platform's own rules are checked on the rendered objects:
placement on the three node roles, non-root security contexts, requests and limits,
probes, secrets only by reference, default-deny network policies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.deploy import cluster

OVERLAYS = [str(p.relative_to(REPO)) for p in cluster.overlay_dirs()]


def test_there_are_overlays_for_production_and_dev() -> None:
    assert {"manifests/overlays/production", "manifests/overlays/dev"} <= set(OVERLAYS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_kubernetes_and_crd_schemas(
    overlay: str, rendered: dict[str, list[dict[str, Any]]], crd_dir: Path
) -> None:
    objects = rendered[overlay]
    assert objects, f"{overlay} renders nothing"
    errors = {
        cluster.object_id(obj): problems
        for obj in objects
        if (problems := cluster.validation_errors(obj, crd_dir))
    }
    assert not errors, f"{overlay}: objects a cluster would reject: {errors}"


def test_the_validator_rejects_what_a_cluster_would(crd_dir: Path) -> None:
    """The check above can fail: a typo in a core kind and in a CRD kind is caught."""
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "i", "imagePullPolice": "x"}]},
            },
        },
    }
    isvc = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "x"},
        "spec": {"predictor": {"minReplicas": "two"}},
    }
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert cluster.validation_errors(deployment, crd_dir)
    assert cluster.validation_errors(isvc, crd_dir)
    assert cluster.validation_errors(unknown, crd_dir)


def _workloads(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(cluster.object_id(o), spec) for o in objects for spec in cluster.pod_specs(o)]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_is_placed_on_a_node_role(
    overlay: str, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    for name, spec in _workloads(rendered[overlay]):
        terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        roles = {
            value
            for term in terms["nodeSelectorTerms"]
            for expr in term["matchExpressions"]
            if expr["key"] == "homeval.io/role"
            for value in expr["values"]
        }
        assert roles, f"{name}: no homeval.io/role node affinity"
        assert roles <= set(cluster.NODE_ROLES), f"{name}: unknown node roles {roles}"


PLACEMENT = {
    "StatefulSet/homeval/postgres": "ml",
    "StatefulSet/homeval/minio": "ml",
    "Deployment/homeval/mlflow": "ml",
    "Deployment/homeval/datasource": "ml",
    "InferenceService/homeval/house-price": "serving",
    "Deployment/homeval/ui": "serving",
    "Deployment/homeval/prometheus": "ops",
    "Deployment/homeval/grafana": "ops",
}


def test_production_places_each_part_on_its_role(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    placed = {}
    for name, spec in _workloads(rendered["manifests/overlays/production"]):
        terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        placed[name] = terms["nodeSelectorTerms"][0]["matchExpressions"][0]["values"][0]
    assert {k: placed.get(k) for k in PLACEMENT} == PLACEMENT


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_non_root_limited_and_probed(
    overlay: str, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    problems = []
    for name, spec in _workloads(rendered[overlay]):
        pod = spec.get("securityContext", {})
        if pod.get("runAsNonRoot") is not True or not pod.get("runAsUser"):
            problems.append(f"{name}: pod securityContext must set runAsNonRoot and a runAsUser")
        if pod.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{name}: seccompProfile RuntimeDefault missing")
        is_job = name.startswith("Job/")
        for c in spec["containers"]:
            where = f"{name}[{c['name']}]"
            sc = c.get("securityContext", {})
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation must be false")
            if sc.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{where}: capabilities must drop ALL")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: root filesystem must be read-only")
            resources = c.get("resources", {})
            for part in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(resources.get(part, {})):
                    problems.append(f"{where}: {part} for cpu and memory missing")
            if not is_job and not ("livenessProbe" in c and "readinessProbe" in c):
                problems.append(f"{where}: liveness and readiness probes missing")
    assert not problems, "\n".join(problems)


def test_no_secret_values_are_in_the_manifests(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for overlay, objects in rendered.items():
        kinds = {o["kind"] for o in objects}
        assert "Secret" not in kinds, f"{overlay} carries a Secret object (values in git)"
        for obj in objects:
            for spec in cluster.pod_specs(obj):
                for c in spec["containers"]:
                    for env in c.get("env", []):
                        name = env["name"].upper()
                        if any(w in name for w in ("PASSWORD", "SECRET", "DATABASE_URL")):
                            assert "valueFrom" in env, f"{cluster.object_id(obj)}: {name} inline"


def _external_secret_keys(objects: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    provided = set()
    for obj in objects:
        if obj["kind"] != "ExternalSecret":
            continue
        ns, spec = obj["metadata"].get("namespace", ""), obj["spec"]
        target = spec["target"]["name"]
        template = spec["target"].get("template", {}).get("data")
        keys = template.keys() if template else [d["secretKey"] for d in spec.get("data", [])]
        provided |= {(ns, target, key) for key in keys}
    return provided


def test_production_secret_references_are_all_provided_by_external_secrets(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["manifests/overlays/production"]
    provided = _external_secret_keys(objects)
    missing = cluster.secret_refs(objects) - provided
    assert not missing, f"secretKeyRefs no ExternalSecret provides: {sorted(missing)}"
    # The Airflow chart reads its Secrets by name (values.yaml), in its namespace.
    for name, key in (
        ("airflow-metadata", "connection"),
        ("airflow-fernet-key", "fernet-key"),
        ("airflow-api-secret-key", "api-secret-key"),
    ):
        assert ("airflow", name, key) in provided
    # The pipeline pods in kubeflow get the same credentials as the platform, and the key
    # MLflow's auth proxy asks writes for, which no pod of the platform gets
    assert {("kubeflow", "homeval-db", "url"), ("kubeflow", "homeval-s3", "access-key-id")} <= (
        provided
    )
    assert ("kubeflow", "homeval-mlflow-writer", "password") in provided
    assert not any(ns == "homeval" and name == "homeval-mlflow-writer" for ns, name, _ in provided)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_maps_and_service_accounts_referenced_exist(
    overlay: str, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    objects = rendered[overlay]
    have = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in objects}
    for obj in objects:
        ns = obj["metadata"].get("namespace", "")
        for spec in cluster.pod_specs(obj):
            account = spec.get("serviceAccountName")
            if account:
                assert ("ServiceAccount", ns, account) in have, f"{cluster.object_id(obj)}"
            refs = [v["configMap"]["name"] for v in spec.get("volumes", []) if "configMap" in v]
            for c in spec["containers"]:
                env_from = c.get("envFrom", [])
                refs += [e["configMapRef"]["name"] for e in env_from if "configMapRef" in e]
                refs += [
                    e["valueFrom"]["configMapKeyRef"]["name"]
                    for e in c.get("env", [])
                    if "configMapKeyRef" in e.get("valueFrom", {})
                ]
            for ref in refs:
                assert ("ConfigMap", ns, ref) in have, f"{cluster.object_id(obj)} -> {ref}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_namespace_denies_by_default_and_services_select_pods(
    overlay: str, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    objects = rendered[overlay]
    namespaces = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
    for ns in namespaces:
        deny = [
            o
            for o in objects
            if o["kind"] == "NetworkPolicy"
            and o["metadata"].get("namespace") == ns
            and o["spec"]["podSelector"] == {}
            and set(o["spec"]["policyTypes"]) == {"Ingress", "Egress"}
            and not o["spec"].get("ingress")
            and not o["spec"].get("egress")
        ]
        assert deny, f"namespace {ns} has no default-deny NetworkPolicy"
    pod_labels = [
        (o["metadata"].get("namespace"), o["spec"]["template"]["metadata"]["labels"])
        for o in objects
        if o["kind"] in ("Deployment", "StatefulSet")
    ]
    for svc in (o for o in objects if o["kind"] == "Service"):
        ns, selector = svc["metadata"].get("namespace"), svc["spec"]["selector"]
        assert any(n == ns and selector.items() <= labels.items() for n, labels in pod_labels), (
            f"{cluster.object_id(svc)} selects no pod"
        )


def test_homeval_images_are_set_through_kustomize_images(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    """Every homeval image in the render carries the tag the overlay's images: list gives."""
    for overlay in OVERLAYS:
        for obj in rendered[overlay]:
            for spec in cluster.pod_specs(obj):
                for c in spec["containers"]:
                    image = c["image"]
                    tag = image.rpartition("/")[2].partition(":")[2]
                    if "/homeval-" in image and not overlay.endswith("production"):
                        assert tag, f"{overlay}: {image} has no tag from the images: list"
                    else:
                        assert tag not in ("", "latest"), f"{overlay}: {image} is not pinned"


def test_production_pins_every_homeval_image_outside_the_manifests_too() -> None:
    """The Airflow chart's image and the compiled pipeline's component image, which the
    images workflow bumps with the manifests, are never ``latest`` either."""
    values = (REPO / "manifests/base/airflow/values.yaml").read_text()
    tags = [line.split(":", 1)[1].strip() for line in values.splitlines()
            if line.startswith("defaultAirflowTag:")]  # fmt: skip
    assert tags, "no defaultAirflowTag in the Airflow values"
    assert tags[0] not in ("", "latest")
    pipeline = (REPO / "pipelines/house_price_pipeline.yaml").read_text()
    images = {line.split("image:", 1)[1].strip() for line in pipeline.splitlines()
              if "image:" in line}  # fmt: skip
    assert images, "no image in the compiled pipeline"
    assert all(image.rpartition(":")[2] not in ("", "latest") for image in images), images


def test_the_optional_ingress_routes_only_the_pages_people_open(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["manifests/overlays/ingress-example"]
    (ingress,) = [o for o in objects if o["kind"] == "Ingress"]
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    backends = {
        path["backend"]["service"]["name"]: path["backend"]["service"]["port"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert set(backends) == {"ui", "grafana"}, "MLflow, Prometheus, the predictor stay inside"
    for name, port in backends.items():
        assert port in {p["name"] for p in services[name]["spec"]["ports"]}, name
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    assert hosts <= {h for tls in ingress["spec"]["tls"] for h in tls["hosts"]}, "TLS for all"
    # behind the controller the UI's per-address limits need the forwarded address, from
    # the controller only
    (ui,) = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "ui"]
    env = {
        e["name"]: e.get("value") for e in ui["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["FORWARDED_ALLOW_IPS"] not in ("", "*")
    assert not any(o["kind"] == "Ingress" for o in rendered["manifests/overlays/production"])
