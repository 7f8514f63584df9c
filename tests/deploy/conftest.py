"""Fixtures of the offline cluster checks: the rendered overlays and the CRD schemas.

Nothing here talks to a cluster: manifests are rendered with ``kubectl kustomize`` and
checked as strictly as an API server would (strict schemas, CRDs included).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, missing, on_path
from tests.deploy import cluster

CRD_DIR = Path(os.environ.get("HOMEVAL_TEST_CRD_SCHEMAS", REPO.parent / "shared/schemas/crds"))


@pytest.fixture(scope="session")
def kubectl() -> str:
    return on_path("kubectl", "it renders the kustomize overlays")


@pytest.fixture(scope="session")
def crd_dir() -> Path:
    if not (CRD_DIR / "serving.kserve.io").is_dir():
        missing(f"CRD JSON schemas not found in {CRD_DIR} (set HOMEVAL_TEST_CRD_SCHEMAS)")
    return CRD_DIR


@pytest.fixture(scope="session")
def rendered(kubectl: str) -> dict[str, list[dict[str, Any]]]:
    """Every overlay and every Argo CD source path, rendered once per session."""
    paths = {str(p.relative_to(REPO)) for p in cluster.overlay_dirs()}
    paths |= {app.path for app in cluster.argocd_applications() if app.path}
    return {path: cluster.render(kubectl, REPO / path) for path in sorted(paths)}
