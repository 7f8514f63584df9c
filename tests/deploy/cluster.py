"""Offline stand-ins for what a cluster would check: rendering, schemas, references."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from tests.conftest import REPO

K8S_VERSION = "1.33"
"""Kubernetes minor the manifests target (core kinds are validated against it)."""

MANIFESTS = REPO / "manifests"
ARGOCD = REPO / "argocd"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "DaemonSet", "CronJob")
NODE_ROLES = ("ml", "serving", "ops")


def overlay_dirs() -> list[Path]:
    overlays = (MANIFESTS / "overlays").iterdir()
    return sorted(p for p in overlays if (p / "kustomization.yaml").is_file())


def render(kubectl: str, path: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize`` of a folder, as objects; a render error fails with its message."""
    result = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {path} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def object_id(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata", {})
    ns = meta.get("namespace", "")
    return f"{obj.get('kind')}/{ns + '/' if ns else ''}{meta.get('name')}"


@cache
def _crd_validator(crd_dir: Path, group: str, version: str, kind: str) -> Any:
    path = crd_dir / group / f"{kind.lower()}_{version}.json"
    if not path.is_file():
        return None
    return jsonschema.Draft202012Validator(json.loads(path.read_text()))


def validation_errors(obj: dict[str, Any], crd_dir: Path) -> list[str]:
    """What an API server with these CRDs would reject in ``obj`` (empty when valid).

    Custom resources go to the JSON schema of their CRD; core kinds to
    kubernetes-validate in strict mode; a kind known to neither is an error, never a pass.
    """
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    validator = _crd_validator(crd_dir, group, version, str(obj.get("kind"))) if group else None
    if validator is not None:
        return [
            f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator.iter_errors(obj)
        ]
    try:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [f"no schema for {obj.get('apiVersion')} {obj.get('kind')}: {exc}"]
    except kubernetes_validate.ValidationError as exc:
        return [f"{'.'.join(map(str, exc.path)) or '<root>'}: {exc.message}"]
    return []


def pod_specs(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The pod spec(s) inside a workload or an InferenceService component."""
    kind, spec = obj.get("kind"), obj.get("spec", {})
    if kind == "CronJob":
        yield spec["jobTemplate"]["spec"]["template"]["spec"]
    elif kind in WORKLOAD_KINDS:
        yield spec["template"]["spec"]
    elif kind == "InferenceService":
        for component in ("predictor", "transformer", "explainer"):
            if component in spec:
                yield spec[component]


def secret_refs(objects: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(namespace, secret, key) of every Secret the rendered pods read: environment
    variables (``secretKeyRef``) and mounted items."""
    refs = set()
    for obj in objects:
        ns = obj["metadata"].get("namespace", "")
        for spec in pod_specs(obj):
            for c in spec["containers"] + spec.get("initContainers", []):
                for env in c.get("env", []):
                    ref = env.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        refs.add((ns, ref["name"], ref["key"]))
            for volume in spec.get("volumes", []):
                secret = volume.get("secret")
                for item in (secret or {}).get("items", []):
                    refs.add((ns, secret["secretName"], item["key"]))
    return refs


@dataclass(frozen=True)
class ArgoApp:
    """One Argo CD Application in argocd/, reduced to what the checks need."""

    file: Path
    obj: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def sources(self) -> list[dict[str, Any]]:
        spec = self.obj["spec"]
        return list(spec.get("sources") or [spec["source"]])

    @property
    def path(self) -> str | None:
        """The repo folder this app renders with kustomize (None for a pure Helm app)."""
        for source in self.sources:
            if source.get("path") and not source.get("chart"):
                return str(source["path"])
        return None

    @property
    def wave(self) -> int:
        annotations = self.obj["metadata"].get("annotations", {})
        return int(annotations.get("argocd.argoproj.io/sync-wave", "0"))


def argocd_applications() -> list[ArgoApp]:
    apps = []
    for file in sorted(ARGOCD.rglob("*.yaml")):
        for doc in yaml.safe_load_all(file.read_text()):
            if doc and doc.get("kind") == "Application":
                apps.append(ArgoApp(file, doc))
    return apps
