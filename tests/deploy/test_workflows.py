"""GitHub Actions workflows: actionlint-clean, actions pinned by SHA, the images pipeline
builds every image and bumps the manifests without starting itself again."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.deploy.tools import tool

WORKFLOWS = REPO / ".github/workflows"


def _load(name: str) -> dict[Any, Any]:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(doc, dict)
    # YAML 1.1 reads the key `on` as True
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def test_actionlint_passes_on_every_workflow() -> None:
    result = subprocess.run(
        [tool("actionlint"), "-no-color"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    bad = tmp_path / ".github/workflows/bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ github.event.head_commit.message }}\n"
        "      - uses: actions/checkout@v4\n        with:\n          fetch-dept: 1\n"
    )
    result = subprocess.run(
        [tool("actionlint"), "-no-color", str(bad)], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "fetch-dept" in result.stdout


@pytest.mark.parametrize("workflow", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_every_action_is_pinned_by_full_commit_sha(workflow: str) -> None:
    text = (WORKFLOWS / workflow).read_text()
    uses = re.findall(r"uses:\s*(\S+)(.*)", text)
    assert uses
    for ref, comment in uses:
        if ref.startswith("./"):
            continue
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), f"{ref} is not pinned by SHA"
        assert re.search(r"#\s*v\d", comment), f"{ref}: say which release the SHA is"


def test_ci_lints_and_tests_pull_requests_and_pushes() -> None:
    ci = _load("ci.yml")
    assert {"pull_request", "push"} <= set(ci["on"])
    steps = " ".join(
        str(step.get("run", "")) for job in ci["jobs"].values() for step in job["steps"]
    )
    for needed in ("ruff check", "mypy", "actionlint", "hadolint", "detect-secrets", "make test"):
        assert needed in steps, f"ci.yml does not run {needed}"


def test_images_builds_every_image_multi_arch_with_cache_then_bumps_and_summarises() -> None:
    images = _load("images.yml")
    jobs = images["jobs"]
    assert list(jobs) == ["plan", "build", "bump", "summary"]
    plan = " ".join(str(s.get("run", "")) for s in jobs["plan"]["steps"])
    assert "bump_image_tags.py matrix" in plan
    assert "bump_image_tags.py tag" in plan
    # release tags build the version-tagged images the production overlay pins
    assert "v*" in images["on"]["push"]["tags"]
    assert "--ref-type" in plan
    build = jobs["build"]
    assert build["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    push = next(s for s in build["steps"] if "docker/build-push-action" in s.get("uses", ""))
    assert push["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert push["with"]["cache-from"].startswith("type=gha")
    assert push["with"]["cache-to"].startswith("type=gha")
    assert "secrets.REGISTRY" in push["with"]["tags"]
    assert "needs.plan.outputs.tag" in push["with"]["tags"]
    bump = jobs["bump"]
    assert bump["needs"] == ["plan", "build"]
    assert bump["if"] == "github.ref_name == github.event.repository.default_branch"
    assert bump["permissions"] == {"contents": "write"}
    script = " ".join(str(s.get("run", "")) for s in bump["steps"])
    assert "bump_image_tags.py bump" in script
    assert "[skip ci]" in script
    checkout = next(s for s in bump["steps"] if "actions/checkout" in s.get("uses", ""))
    # the push must use the GITHUB_TOKEN, whose events never start workflow runs
    assert "token" not in checkout.get("with", {})
    assert jobs["summary"]["if"] == "always()"
    assert "GITHUB_STEP_SUMMARY" in str(jobs["summary"]["steps"])
