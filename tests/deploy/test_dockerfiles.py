"""Every Dockerfile in the repository lints clean and copies only what exists.

The images are built with the repository root as context (see .github/workflows/
images.yml), so COPY sources are looked up from there. New Dockerfiles are picked up as
they land.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.deploy.tools import repo_files, tool

DOCKERFILES = [f for f in repo_files() if Path(f).name == "Dockerfile"]


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\s*\n", " ", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")
    ))  # fmt: skip
    result = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def copy_sources(text: str) -> list[str]:
    """Sources of COPY/ADD from the build context (not --from=stage, not URLs)."""
    sources = []
    for word, args in instructions(text):
        if word not in ("COPY", "ADD"):
            continue
        parts = (
            [str(p) for p in __import__("json").loads(args)]
            if args.startswith("[")
            else (shlex.split(args))
        )
        if any(p.startswith("--from") for p in parts):
            continue
        paths = [p for p in parts if not p.startswith("--")][:-1]
        sources += [p for p in paths if not re.match(r"https?://", p)]
    return sources


def missing_sources(text: str, context: Path) -> list[str]:
    return [s for s in copy_sources(text) if not any(context.glob(s.strip("/")))]


def test_there_is_at_least_one_dockerfile() -> None:
    assert "manifests/images/mlflow/Dockerfile" in DOCKERFILES


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_hadolint_passes(dockerfile: str) -> None:
    result = subprocess.run(
        [tool("hadolint"), "--no-color", dockerfile], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_copy_sources_exist_in_the_build_context(dockerfile: str) -> None:
    text = (REPO / dockerfile).read_text()
    assert not missing_sources(text, REPO), f"{dockerfile} copies what the repo lacks"


def test_the_checks_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = "FROM python\nRUN apt-get install -y curl\n" + (
        "COPY --chown=1000 pyproject.toml \\\n  no-such-dir/ /app/\n"
        'COPY ["uv.lock", "/app/"]\nCOPY --from=build /x /y\n'
    )
    (tmp_path / "Dockerfile").write_text(bad)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "uv.lock").write_text("")
    assert missing_sources(bad, tmp_path) == ["no-such-dir/"]
    result = subprocess.run(
        [tool("hadolint"), "--no-color", "Dockerfile"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "DL3006" in result.stdout  # untagged base image
