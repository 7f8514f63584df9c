"""Where the linters the offline checks run are found (the project venv first)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, missing

VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """Path of a linter installed by the dev dependencies (or on PATH)."""
    candidate = VENV_BIN / name
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        missing(f"{name} not found (it comes with `uv sync`: dev dependencies)")
    return str(found)


def repo_files() -> list[str]:
    """Files in the repository: tracked, plus new ones that are not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return sorted(f for f in listed.split("\0") if f and (REPO / f).is_file())
