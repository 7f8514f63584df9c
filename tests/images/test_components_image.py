"""The component image: what it must hold, and its build recipe run for real (no Docker here).

hadolint and COPY sources are checked for every Dockerfile in tests/deploy.  Here: the
image is python:3.11-slim, non-root, installs homeval from the lock, and its build stage,
replayed with uv into a scratch venv from exactly the files it COPYs, gives an
environment where every step imports.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

DOCKERFILE = REPO / "components/Dockerfile"


def instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\s*\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    """The instructions of each stage (the global ARGs before the first FROM left out)."""
    result: list[list[tuple[str, str]]] = []
    for word, args in instructions():
        if word == "FROM":
            result.append([])
        if result:
            result[-1].append((word, args))
    return result


def base_images() -> list[str]:
    """Each FROM's image, a ``${ARG}`` read as that build argument's default."""
    defaults: dict[str, str] = {}
    bases = []
    for word, args in instructions():
        if word == "ARG" and "=" in args:
            name, _, value = args.partition("=")
            defaults[name.strip()] = value.strip()
        elif word == "FROM":
            image = args.split()[0]
            bases.append(re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m.group(1), ""), image))
    return bases


def test_both_stages_are_python_311_slim() -> None:
    bases = base_images()
    assert len(bases) == 2
    assert all(b.startswith("python:3.11-slim") for b in bases), bases


def test_the_image_runs_as_a_non_root_user() -> None:
    final = stages()[-1]
    users = [args for word, args in final if word == "USER"]
    assert users, "the final stage sets no USER"
    assert users[-1].split(":")[0] not in ("0", "root")


def test_homeval_is_installed_from_the_lock() -> None:
    build = " ".join(args for word, args in stages()[0] if word == "RUN")
    assert "uv sync --frozen --no-dev --no-install-project" in build
    assert "uv sync --frozen --no-dev --no-editable" in build
    final = " ".join(args for _, args in stages()[-1])
    assert "libgomp1" in final  # LightGBM's wheel links the system OpenMP runtime
    assert "PATH=/opt/venv/bin:$PATH" in final  # KFP runs `python3 -m kfp.dsl.executor_main`


@pytest.mark.slow
def test_the_build_stage_gives_an_environment_where_every_step_imports(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH (make installs it)")
    context = tmp_path / "src"
    build = stages()[0]
    for word, args in build:  # Docker's COPY: a folder's contents, a file into a folder
        if word != "COPY":
            continue
        *sources, target = shlex.split(args)
        destination = context / target
        for source in sources:
            path = REPO / source
            if path.is_dir():
                shutil.copytree(
                    path,
                    destination,
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"),
                )
            else:
                destination.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, destination / path.name)
    env = {
        **os.environ,
        "UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv"),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_LINK_MODE": "hardlink",
    }
    for word, args in build:
        if word == "RUN" and args.startswith("uv sync"):
            done = subprocess.run(
                shlex.split(args), cwd=context, env=env, capture_output=True, text=True, timeout=600
            )
            assert done.returncode == 0, done.stderr[-3000:]
    check = next(args for word, args in stages()[-1] if word == "RUN" and "import" in args)
    code = shlex.split(check)[-1]
    done = subprocess.run(
        [str(tmp_path / "venv/bin/python3"), "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
