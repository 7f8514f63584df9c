"""The UI's image: pinned like uv.lock, non-root, and its packages are enough to serve.

No Docker engine here, so the image's Python environment is rebuilt the way the
Dockerfile builds it (its requirements.txt into a fresh venv, only homeval/,
homeval_contract/ and ui/ on the path) and the UI is started from it as the image's CMD
would.
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

FOLDER = REPO / "ui"


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            found[name.split("[")[0].lower()] = version
    return found


def test_requirements_are_pinned_to_uv_lock() -> None:
    locked: dict[str, set[str]] = {}
    for package in tomllib.loads((REPO / "uv.lock").read_text())["package"]:
        locked.setdefault(package["name"].lower(), set()).add(package["version"])
    wanted = pins(FOLDER / "requirements.txt")
    assert {"gradio", "fastapi", "uvicorn", "httpx", "prometheus-client", "matplotlib",
            "sqlalchemy", "psycopg", "mlflow-skinny", "scikit-learn"} <= set(wanted)  # fmt: skip
    stale = {n: (v, locked.get(n)) for n, v in wanted.items() if v not in locked.get(n, set())}
    assert not stale, f"ui/requirements.txt differs from uv.lock: {stale}"


def test_dockerfile_runs_the_ui_as_non_root_on_7860() -> None:
    text = (FOLDER / "Dockerfile").read_text()
    assert "USER 1000:1000" in text
    assert "EXPOSE 7860" in text
    assert "HOMEVAL_UI_PORT=7860" in text
    assert 'CMD ["python", "-m", "ui"]' in text
    assert "COPY ui/requirements.txt" in text


@pytest.mark.slow
def test_the_image_packages_are_enough_to_serve(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    image_venv(FOLDER / "requirements.txt", venv)
    app = tmp_path / "app"  # what the Dockerfile copies, and nothing else
    shutil.copytree(REPO / "homeval", app / "homeval")
    shutil.copytree(
        CONTRACT, app / "homeval_contract", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(FOLDER, app / "ui", ignore=shutil.ignore_patterns("__pycache__"))
    port = free_port()
    run_env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(app),
        "HOMEVAL_HOME": str(tmp_path / "home"),
        "HOMEVAL_UI_PORT": str(port),
        "HOMEVAL_PREDICTOR_URL": f"http://127.0.0.1:{free_port()}",
        "MPLCONFIGDIR": str(tmp_path / "mpl"),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    # the Models tab's registry client (mlflow-skinny); no Evidently: the UI only reads
    # drift reports, the pipeline computes them
    probe = subprocess.run(
        [str(venv / "bin/python"), "-c",
         "from mlflow import MlflowClient; import ui.server, homeval.registry.catalog\n"
         "import importlib.util; assert importlib.util.find_spec('evidently') is None"],
        env=run_env, capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr[-2000:]
    child = subprocess.Popen(
        [str(venv / "bin/python"), "-m", "ui"],
        cwd=tmp_path,
        env=run_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert child.poll() is None, child.communicate()[0]
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the UI did not start in 120 s"
                time.sleep(0.3)
        assert health.json() == {"status": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert "homeval_ui_requests_total" in scraped
    finally:
        child.terminate()
        output = child.communicate(timeout=30)[0]
    assert child.returncode in (0, -15), output
