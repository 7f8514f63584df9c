"""No secret value in the repository (detect-secrets, as CI runs it)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import REPO
from tests.deploy.tools import repo_files, tool


def scan(files: list[str], cwd: Path) -> dict[str, list[dict[str, object]]]:
    result = subprocess.run(
        [tool("detect-secrets"), "scan", "--all-files", *files],
        cwd=cwd, capture_output=True, text=True, check=True,
    )  # fmt: skip
    found: dict[str, list[dict[str, object]]] = json.loads(result.stdout)["results"]
    return found


def test_no_secret_in_any_file_of_the_repository() -> None:
    findings = scan(repo_files(), REPO)
    where = {path: [(f["type"], f["line_number"]) for f in hits] for path, hits in findings.items()}
    assert not where, "possible secrets (remove them, or mark a false positive with "
    f"'# pragma: allowlist secret'): {where}"


def test_the_scanner_finds_a_planted_secret(tmp_path: Path) -> None:
    key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"  # pragma: allowlist secret
    (tmp_path / "leak.env").write_text(f"AWS_SECRET_ACCESS_KEY={key}\n")
    assert "leak.env" in scan(["leak.env"], tmp_path)
