"""Make targets that touch a user's files do what their help says."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import REPO


def test_reset_deletes_the_platform_data_and_keeps_the_virtualenvs(tmp_path: Path) -> None:
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    for folder in (".homeval/logs", ".venv/bin", ".venv-airflow/bin"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / ".homeval/homeval.db").write_text("rows")
    done = subprocess.run(["make", "reset"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / ".homeval").exists()
    assert (tmp_path / ".venv/bin").is_dir()
    assert (tmp_path / ".venv-airflow/bin").is_dir()


def test_help_lists_reset_apart_from_clean() -> None:
    listed = subprocess.run(["make", "help"], cwd=REPO, capture_output=True, text=True).stdout
    assert "make reset" in listed
    assert "keep the virtualenvs" in listed
