"""The simulator's image: pinned like uv.lock, non-root, and its packages are enough to serve.

No Docker engine here, so the image's Python environment is rebuilt the way the
Dockerfile builds it (its requirements.txt into a fresh venv, only homeval/,
homeval_contract/ and datasource/ on the path) and the simulator is started from it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import tomllib
from pathlib import Path

import httpx
import pytest

from tests.conftest import CONTRACT, REPO, free_port, image_venv

FOLDER = REPO / "datasource"


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            found[name.lower()] = version
    return found


def test_requirements_are_pinned_to_uv_lock() -> None:
    locked: dict[str, set[str]] = {}  # a package may be locked per Python version
    for package in tomllib.loads((REPO / "uv.lock").read_text())["package"]:
        locked.setdefault(package["name"].lower(), set()).add(package["version"])
    wanted = pins(FOLDER / "requirements.txt")
    assert {"fastapi", "uvicorn", "pandas", "pyarrow", "pydantic-settings"} <= set(wanted)
    stale = {n: (v, locked.get(n)) for n, v in wanted.items() if v not in locked.get(n, set())}
    assert not stale, f"datasource/requirements.txt differs from uv.lock: {stale}"


def test_dockerfile_runs_the_simulator_as_non_root() -> None:
    text = (FOLDER / "Dockerfile").read_text()
    assert "USER 1000:1000" in text
    assert 'CMD ["python", "-m", "datasource"]' in text
    assert "COPY datasource/requirements.txt" in text


@pytest.mark.slow
def test_the_image_packages_are_enough_to_serve(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    image_venv(FOLDER / "requirements.txt", venv)
    app = tmp_path / "app"  # what the Dockerfile copies, and nothing else
    shutil.copytree(REPO / "homeval", app / "homeval")
    shutil.copytree(
        CONTRACT, app / "homeval_contract", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(FOLDER, app / "datasource")
    port = free_port()
    run_env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(app),
        "HOMEVAL_HOME": str(tmp_path / "home"),
        "HOMEVAL_DATASOURCE_PORT": str(port),
        "HOMEVAL_DATASOURCE_BATCH_SIZE": "20",
    }
    child = subprocess.Popen(
        [str(venv / "bin/python"), "-m", "datasource"],
        cwd=tmp_path,
        env=run_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert child.poll() is None, child.communicate()[0]
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/data?group_number=1&day=Tuesday")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the simulator did not start in 60 s"
                time.sleep(0.2)
        assert answer.status_code == 200
        assert len(answer.json()["data"]) == 20
    finally:
        child.terminate()
        output = child.communicate(timeout=20)[0]
    assert child.returncode in (0, -15), output  # uvicorn re-raises SIGTERM after shutdown
    assert "GET /data?group_number=1&day=Tuesday -> 200" in output
