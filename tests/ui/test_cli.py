"""``homeval ui`` as a person runs it: it serves until stopped, and bad input exits 2."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import free_port
from tests.ui.conftest import HOMEVAL


def test_homeval_ui_serves_until_terminated(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "HOMEVAL_HOME": str(tmp_path / "home")}
    child = subprocess.Popen(
        [str(HOMEVAL), "ui", "--port", str(port),
         "--predictor-url", f"http://127.0.0.1:{free_port()}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            assert child.poll() is None, child.communicate()[0]
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "homeval ui did not answer in 90 s"
                time.sleep(0.3)
        assert health.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
    finally:
        child.terminate()
        output = child.communicate(timeout=30)[0]
    assert child.returncode in (0, -15), output
    assert f"homeval UI on http://127.0.0.1:{port}" in output


def test_bad_flags_and_settings_exit_2_with_the_reason(tmp_path: Path) -> None:
    env = {**os.environ, "HOMEVAL_HOME": str(tmp_path / "home")}
    bad_url = subprocess.run(
        [str(HOMEVAL), "ui", "--predictor-url", "localhost:8080"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad_url.returncode == 2
    assert "--predictor-url must start with http:// or https://" in bad_url.stderr
    assert "Traceback" not in bad_url.stderr
    bad_port = subprocess.run(
        [str(HOMEVAL), "ui"], env={**env, "HOMEVAL_UI_PORT": "seventy"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad_port.returncode == 2
    assert "HOMEVAL_UI_PORT" in bad_port.stderr
    assert "Traceback" not in bad_port.stderr
