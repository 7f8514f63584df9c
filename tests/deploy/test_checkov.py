"""checkov on every rendered overlay: no finding but those accepted, with their reasons,
in ``manifests/checkov-accepted.yaml``; an accepted finding that no longer occurs fails too.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, on_path
from tests.deploy import cluster

ACCEPTED = REPO / "manifests" / "checkov-accepted.yaml"
OVERLAYS = [p.name for p in cluster.overlay_dirs()]

pytestmark = pytest.mark.slow


def findings(checkov: str, kubectl: str, overlay: str, scratch: Path) -> set[tuple[str, str]]:
    rendered = subprocess.run([kubectl, "kustomize", str(REPO / "manifests/overlays" / overlay)],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
    manifest = scratch / f"{overlay}.yaml"
    manifest.write_text(rendered)
    result = subprocess.run(
        [checkov, "--file", str(manifest), "--framework", "kubernetes", "--output", "json",
         "--quiet", "--compact", "--skip-download"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr[-2000:]  # 1: there are findings
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    assert all(r.get("summary", {}).get("parsing_errors", 0) == 0 for r in reports), reports
    return {
        (f["check_id"], f["resource"])
        for r in reports
        for f in r.get("results", {}).get("failed_checks", [])
    }


def accepted(overlay: str) -> dict[tuple[str, str], str]:
    entries = yaml.safe_load(ACCEPTED.read_text())["accepted"]
    return {
        (entry["check"], resource): entry["reason"]
        for entry in entries
        if overlay in entry.get("overlays", OVERLAYS)
        for resource in entry["resources"]
    }


def test_every_accepted_entry_says_why() -> None:
    for entry in yaml.safe_load(ACCEPTED.read_text())["accepted"]:
        assert len(entry.get("reason", "").split()) >= 8, entry["check"]
        assert set(entry.get("overlays", OVERLAYS)) <= set(OVERLAYS), entry["check"]


@pytest.fixture(scope="module")
def found(
    kubectl: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, set[tuple[str, str]]]:
    """checkov's findings per overlay, run once for the module."""
    checkov = on_path("checkov", "`make tools` installs it with uv")
    scratch = tmp_path_factory.mktemp("checkov")
    return {overlay: findings(checkov, kubectl, overlay, scratch) for overlay in OVERLAYS}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_checkov_finds_nothing_unaccepted(
    overlay: str, found: dict[str, set[tuple[str, str]]]
) -> None:
    new = sorted(found[overlay] - set(accepted(overlay)))
    assert not new, f"{overlay}: checkov findings not accepted in {ACCEPTED.name}: {new}"


def test_every_accepted_finding_still_occurs(found: dict[str, set[tuple[str, str]]]) -> None:
    stale = {
        key
        for overlay in OVERLAYS
        for key in accepted(overlay)
        if not any(key in found[o] and key in accepted(o) for o in OVERLAYS)
    }
    assert not stale, f"accepted in {ACCEPTED.name} but found nowhere: {sorted(stale)}"
