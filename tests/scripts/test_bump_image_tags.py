"""The tag bump that the images workflow runs after every build on the default branch."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tests.conftest import REPO

SCRIPT = REPO / "scripts/bump_image_tags.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bump_image_tags", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bump = _load()

PIPELINE_TEXT = """\
# PIPELINE DEFINITION
deploymentSpec:
  executors:
    exec-collect:
      container:
        image: ghcr.io/homeval/homeval-components:latest
    exec-train:
      container:
        image: ghcr.io/homeval/homeval-components@sha256:{digest}
    exec-other:
      container:
        image: python:3.11-slim
""".format(digest="a" * 64)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """The repository's manifests and a compiled pipeline, in a scratch folder."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "manifests", root / "manifests")
    (root / "pipelines").mkdir()
    (root / bump.PIPELINE).write_text(PIPELINE_TEXT)
    return root


def test_every_dockerfile_in_the_repo_is_a_known_image() -> None:
    """A Dockerfile nobody listed would never be built by the images workflow."""
    found = {
        str(p.relative_to(REPO))
        for p in REPO.rglob("Dockerfile")
        if not any(part.startswith(".") for part in p.relative_to(REPO).parts)
    }
    assert found <= set(bump.IMAGES.values()), f"unlisted: {found - set(bump.IMAGES.values())}"


def test_matrix_lists_only_images_whose_dockerfile_exists(tmp_path: Path) -> None:
    (tmp_path / "ui").mkdir()
    (tmp_path / "ui/Dockerfile").write_text("FROM scratch\n")
    assert bump.matrix(tmp_path) == [
        {"part": "ui", "image": "homeval-ui", "dockerfile": "ui/Dockerfile"}
    ]
    result = _run("matrix")
    assert result.returncode == 0, result.stderr
    parts = {entry["part"] for entry in json.loads(result.stdout)}
    assert "mlflow" in parts
    assert parts == {p for p, f in bump.IMAGES.items() if (REPO / f).is_file()}


def test_tag_is_date_and_short_sha_on_the_default_branch_else_the_branch_name() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"  # pragma: allowlist secret
    assert bump.image_tag("main", "main", sha, dt.date(2026, 3, 9)) == "20260309-0123456"
    assert bump.image_tag("feature/new-ui", "main", sha) == "feature-new-ui"
    assert bump.image_tag("release_1.2", "main", sha) == "release_1.2"
    # a release tag gives its version, what the production overlay pins
    assert bump.image_tag("v0.2.0", "main", sha, ref_type="tag") == "0.2.0"
    assert bump.image_tag("v1.0.0-rc.1", "main", sha, ref_type="tag") == "1.0.0-rc.1"
    assert bump.image_tag("v0.2", "main", sha) == "v0.2"  # a branch called so stays a branch
    with pytest.raises(bump.UsageError, match="not a release"):
        bump.image_tag("nightly", "main", sha, ref_type="tag")
    result = _run("tag", "--ref-name", "main", "--default-branch", "main", "--sha", sha,
                  "--date", "20261126")  # fmt: skip
    assert result.stdout.strip() == "20261126-0123456"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tag", "--ref-name", "main", "--default-branch", "main", "--sha", "xyz"], "hex"),
        (
            [
                "tag",
                "--ref-name",
                "main",
                "--default-branch",
                "main",
                "--sha",
                "abcdef0",
                "--date",
                "2026-11-26",
            ],
            "YYYYMMDD",
        ),
        (["tag", "--ref-name", "///", "--default-branch", "main", "--sha", "abcdef0"], "branch"),
        (["bump", "--tag=-bad"], "not a valid image tag"),
        (["bump", "--tag", "ok", "--registry", "Not A Registry"], "registry"),
    ],
)
def test_bad_input_exits_2_with_a_message(args: list[str], message: str) -> None:
    result = _run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bump_retags_every_manifest_image_the_airflow_values_and_the_pipeline(
    repo_copy: Path,
) -> None:
    changes = bump.bump(repo_copy, "20261126-abc1234")
    changed_files = {c.path for c in changes}
    assert "manifests/overlays/production/images/kustomization.yaml" in changed_files
    assert "manifests/overlays/dev/kustomization.yaml" in changed_files
    assert bump.AIRFLOW_VALUES in changed_files
    assert bump.PIPELINE in changed_files

    for kustomization in (repo_copy / "manifests").rglob("kustomization.yaml"):
        doc = yaml.safe_load(kustomization.read_text())
        for entry in doc.get("images", []):
            if "/homeval-" in entry["name"]:
                assert entry["newTag"] == "20261126-abc1234", kustomization
    values = yaml.safe_load((repo_copy / bump.AIRFLOW_VALUES).read_text())
    assert values["defaultAirflowTag"] == "20261126-abc1234"
    pipeline = (repo_copy / bump.PIPELINE).read_text()
    assert pipeline.count("ghcr.io/homeval/homeval-components:20261126-abc1234") == 2
    assert "python:3.11-slim" in pipeline
    assert "@sha256" not in pipeline
    # comments survive the edit
    production = repo_copy / "manifests/overlays/production/images/kustomization.yaml"
    assert production.read_text().startswith("# The homeval images")
    # a second run changes nothing
    assert bump.bump(repo_copy, "20261126-abc1234") == []


def test_bump_with_a_registry_renames_the_images(repo_copy: Path) -> None:
    bump.bump(repo_copy, "v1", registry="registry.example.com:5000/team")
    doc = yaml.safe_load(
        (repo_copy / "manifests/overlays/production/images/kustomization.yaml").read_text()
    )
    names = {entry["newName"] for entry in doc["images"]}
    assert names == {
        f"registry.example.com:5000/team/homeval-{p}"
        for p in ("datasource", "inference", "mlflow", "ui")
    }
    values = yaml.safe_load((repo_copy / bump.AIRFLOW_VALUES).read_text())
    assert values["defaultAirflowRepository"] == "registry.example.com:5000/team/homeval-airflow"
    assert (
        "registry.example.com:5000/team/homeval-components:v1"
        in (repo_copy / bump.PIPELINE).read_text()
    )


def test_bump_renders_with_kustomize(repo_copy: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not on PATH")
    bump.bump(repo_copy, "20261126-abc1234")
    out = subprocess.run(
        [kubectl, "kustomize", str(repo_copy / "manifests/overlays/production")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    images = {
        line.split("image:")[1].strip() for line in out.stdout.splitlines() if "image:" in line
    }
    homeval = {i for i in images if "/homeval-" in i}
    assert homeval
    assert all(i.endswith(":20261126-abc1234") for i in homeval), homeval


def test_a_bad_tag_leaves_every_file_untouched(repo_copy: Path) -> None:
    before = {p: p.read_text() for p in repo_copy.rglob("*") if p.is_file()}
    result = _run("--root", str(repo_copy), "bump", "--tag", "bad tag")
    assert result.returncode == 2
    assert before == {p: p.read_text() for p in repo_copy.rglob("*") if p.is_file()}


def test_cli_bump_prints_the_changes(repo_copy: Path) -> None:
    result = _run("--root", str(repo_copy), "bump", "--tag", "abc")
    assert result.returncode == 0, result.stderr
    assert "homeval-inference newTag latest -> abc" in result.stdout
    again = _run("--root", str(repo_copy), "bump", "--tag", "abc")
    assert "nothing to change" in again.stdout


def test_bump_retags_the_real_compiled_pipeline(tmp_path: Path) -> None:
    real = REPO / bump.PIPELINE
    if not real.is_file():
        pytest.skip(f"{bump.PIPELINE} is not compiled yet")
    root = tmp_path / "repo"
    shutil.copytree(REPO / "manifests", root / "manifests")
    (root / "pipelines").mkdir()
    shutil.copy(real, root / bump.PIPELINE)
    before = real.read_text()
    assert "/homeval-components" in before
    bump.bump(root, "20261126-abc1234")
    after = (root / bump.PIPELINE).read_text()
    images = [line.split("image:")[1].strip() for line in after.splitlines() if "image:" in line]
    components = [i for i in images if "/homeval-components" in i]
    assert components
    assert all(i.endswith(":20261126-abc1234") for i in components)
    assert len(list(yaml.safe_load_all(after))) == len(list(yaml.safe_load_all(before)))
