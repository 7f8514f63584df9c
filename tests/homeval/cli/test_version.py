"""``homeval --version``: what a user pastes into a bug report."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from homeval.cli import app
from tests.conftest import REPO


def test_version_is_the_projects_and_exits_zero() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"homeval {declared}"


def test_the_installed_command_answers_version_before_any_subcommand() -> None:
    script = Path(sys.executable).with_name("homeval")
    answer = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.startswith("homeval ")
    listed = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert "--version" in listed.stdout
