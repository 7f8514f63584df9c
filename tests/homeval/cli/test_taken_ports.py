"""Every command that starts a server refuses a taken port in one line, before it logs
"serving on ..." and before uvicorn's raw ``[Errno 98]``; ``homeval up`` refuses before it
trains anything, though another process answers on that port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from homeval.platform.launcher import url_answers
from tests.conftest import free_port, http_server_on

HOMEVAL = [sys.executable, "-m", "homeval"]


def run(
    command: list[str], env: dict[str, str], timeout_s: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        env={**os.environ, "COLUMNS": "300", **env},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


@pytest.mark.parametrize(
    ("command", "env", "setting"),
    [
        ([*HOMEVAL, "serve", "--port", "{port}"], {}, "HOMEVAL_PREDICTOR_PORT"),
        ([*HOMEVAL, "ui", "--port", "{port}"], {}, "HOMEVAL_UI_PORT"),
        ([*HOMEVAL, "datasource", "serve", "--port", "{port}"], {}, "HOMEVAL_DATASOURCE_PORT"),
        (
            [sys.executable, "-m", "datasource"],
            {"HOMEVAL_DATASOURCE_PORT": "{port}"},
            "HOMEVAL_DATASOURCE_PORT",
        ),
    ],
    ids=["serve", "ui", "datasource-serve", "datasource-image-cmd"],
)
def test_a_server_command_refuses_a_taken_port(
    command: list[str], env: dict[str, str], setting: str
) -> None:
    port = free_port()
    with http_server_on(port) as holder:
        done = run(
            [part.format(port=port) for part in command],
            {name: value.format(port=port) for name, value in env.items()},
        )
    assert done.returncode == 1, done.stdout + done.stderr
    error = done.stderr.strip()
    assert error.startswith(f"error: port {port} on 127.0.0.1 is already in use by pid {holder} (")
    assert "http.server" in error
    assert setting in error
    assert len(error.splitlines()) == 1, error
    assert "Errno" not in done.stdout + done.stderr
    assert "serving on" not in done.stdout


@pytest.mark.slow
def test_up_refuses_a_taken_predictor_port_before_training(tmp_path: Path) -> None:
    predictor = free_port()
    env = {
        "HOMEVAL_HOME": str(tmp_path / "home"),
        "HOMEVAL_FEED_URL": f"http://127.0.0.1:{free_port()}",
        "HOMEVAL_PREDICTOR_PORT": str(predictor),
        "HOMEVAL_UI_PORT": str(free_port()),
        "HOMEVAL_MLFLOW_UI_PORT": str(free_port()),
    }
    with http_server_on(predictor) as holder:
        started = time.monotonic()
        done = run([*HOMEVAL, "up"], env, timeout_s=120)
        took = time.monotonic() - started
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert f"port {predictor} on 127.0.0.1 is already in use by pid {holder} (" in output
    assert "HOMEVAL_PREDICTOR_PORT" in output
    assert "training a first model" not in output
    assert "predictor serving" not in output
    assert "stopped: no service left running" in output
    assert not url_answers(env["HOMEVAL_FEED_URL"] + "/health"), "no feed was left behind"
    assert took < 60, f"refused only after {took:.0f} s"
