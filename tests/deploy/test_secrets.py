"""No secret value in the repository: detect-secrets, with the filters of
``.secrets.baseline``, exactly as ci.yml runs it.

The baseline holds configuration only (plugins, and two line filters: the keys
``secretKey`` / ``secretName`` / ``*SecretName``, in YAML or in a dict literal, name a
Secret or one of its keys, they never hold a value; a ``sha256`` key holds the checksum
of a public file, e.g. the real rows the generator is calibrated on); it must list no
accepted finding.
A reviewed false positive is marked in place with ``pragma: allowlist secret``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import REPO
from tests.deploy.tools import repo_files, tool

BASELINE = REPO / ".secrets.baseline"


def hook(files: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("detect-secrets-hook"), "--baseline", str(BASELINE), *files],
        cwd=cwd, capture_output=True, text=True,
    )  # fmt: skip


def test_the_baseline_accepts_no_finding() -> None:
    baseline = json.loads(BASELINE.read_text())
    assert baseline["results"] == {}


def test_no_secret_in_any_file_of_the_repository() -> None:
    result = hook(repo_files(), REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_scanner_finds_a_planted_secret_but_not_a_secret_reference(tmp_path: Path) -> None:
    shutil.copy(BASELINE, tmp_path / ".secrets.baseline")
    key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"  # pragma: allowlist secret
    (tmp_path / "leak.env").write_text(f"AWS_SECRET_ACCESS_KEY={key}\n")
    (tmp_path / "ref.yaml").write_text("- secretKey: password\n  secretName: homeval-db\n")
    leak = hook(["leak.env"], tmp_path)
    assert leak.returncode != 0
    assert "leak.env" in leak.stdout
    assert hook(["ref.yaml"], tmp_path).returncode == 0
