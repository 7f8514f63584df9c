"""Every Dockerfile in the repository lints clean, copies only what exists and what
.dockerignore sends, and creates /data for uid 1000 when it keeps state there.

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


def final_stage(text: str) -> list[tuple[str, str]]:
    """The instructions after the last FROM: what the image that runs is made of."""
    steps = instructions(text)
    last = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last + 1 :]


def data_dir_problems(text: str) -> list[str]:
    """An image that keeps state in /data as uid 1000 must create /data for that user
    before switching to it (without a volume, e.g. `docker run`, the first write fails)."""
    steps = final_stage(text)
    envs = " ".join(args for word, args in steps if word == "ENV")
    users = [i for i, (word, who) in enumerate(steps) if word == "USER" and who.startswith("1000")]
    if "HOMEVAL_HOME=/data" not in envs or not users:
        return []
    made = [
        i
        for i, (word, args) in enumerate(steps)
        if word == "RUN" and "mkdir -p /data" in args and "chown 1000:1000 /data" in args
    ]
    if not made or made[0] > users[0]:
        return ["/data is not created and given to uid 1000 before USER 1000"]
    return []


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_an_image_that_keeps_state_in_data_creates_it_for_its_user(dockerfile: str) -> None:
    assert not data_dir_problems((REPO / dockerfile).read_text()), dockerfile


def test_the_data_check_catches_an_image_without_data() -> None:
    bad = "FROM python:3.11-slim\nENV HOMEVAL_HOME=/data\nUSER 1000:1000\n"
    assert data_dir_problems(bad)
    late = bad + "RUN mkdir -p /data && chown 1000:1000 /data\n"
    assert data_dir_problems(late)
    good = bad.replace("USER", "RUN mkdir -p /data && chown 1000:1000 /data\nUSER")
    assert not data_dir_problems(good)


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether a .dockerignore pattern (glob, ** for any folders) leaves ``path`` out."""
    from fnmatch import fnmatch

    path = path.strip("/")
    return any(fnmatch(path, p) or path.startswith(p.rstrip("/") + "/") for p in patterns)


def dockerignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_the_build_context_leaves_out_local_state_and_keeps_every_copy_source() -> None:
    patterns = dockerignore_patterns()
    for local in (".git", ".venv", ".venv-airflow", ".homeval", "homeval/__pycache__"):
        assert ignored(local, patterns), f"{local} would be sent to the daemon"
    for dockerfile in DOCKERFILES:
        sources = copy_sources((REPO / dockerfile).read_text())
        left_out = [s for s in sources if ignored(s, patterns)]
        assert not left_out, f"{dockerfile} copies what .dockerignore leaves out: {left_out}"
    assert ignored("homeval/", ["homeval"])  # the check itself can fail


def passwd_problems(text: str) -> list[str]:
    """An image that runs as uid 1000 gives that uid a passwd entry before USER (without
    one, ``getpwuid`` fails: MLflow warns and drops the run's user tag)."""
    steps = final_stage(text)
    users = [i for i, (word, who) in enumerate(steps) if word == "USER" and who.startswith("1000")]
    if not users:
        return []
    added = [
        i
        for i, (word, args) in enumerate(steps)
        if word == "RUN" and re.search(r"useradd\b[^&;]*--uid 1000\b", args)
    ]
    if not added or added[0] > users[0]:
        return ["uid 1000 has no passwd entry (useradd --uid 1000) before USER 1000"]
    return []


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_the_runtime_user_has_a_passwd_entry(dockerfile: str) -> None:
    assert not passwd_problems((REPO / dockerfile).read_text()), dockerfile


def test_the_passwd_check_catches_a_nameless_user() -> None:
    bad = "FROM python:3.11-slim\nUSER 1000:1000\n"
    assert passwd_problems(bad)
    good = bad.replace("USER", "RUN useradd --uid 1000 --no-create-home app\nUSER")
    assert not passwd_problems(good)


def base_image_problems(text: str) -> list[str]:
    """Every base image (a FROM that is not an earlier stage) is named by a build argument
    with a default, so a mirror or an offline stand-in can be given with --build-arg."""
    steps = instructions(text)
    args = {}
    stages = set()
    problems = []
    for word, rest in steps:
        if word == "ARG":
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
        elif word == "FROM":
            image, *alias = rest.split()
            if alias and alias[0].upper() == "AS":
                stages.add(alias[1])
            if image in stages:
                continue
            match = re.fullmatch(r"\$\{?(\w+)\}?", image)
            if match is None or not args.get(match.group(1)):
                problems.append(f"FROM {image}: not a build argument with a default")
    return problems


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_every_base_image_is_a_build_argument(dockerfile: str) -> None:
    assert not base_image_problems((REPO / dockerfile).read_text()), dockerfile


def test_the_base_image_check_catches_a_fixed_base() -> None:
    assert base_image_problems("FROM python:3.11-slim\n")
    assert base_image_problems("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n")  # no default
    good = "ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE} AS build\nFROM build\n"
    assert not base_image_problems(good)
