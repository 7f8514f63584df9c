"""The local platform's services as ``homeval up`` starts them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from homeval.launcher import Supervisor
from homeval.local_platform import mlflow_service
from homeval.settings import Settings
from tests.conftest import free_port


def session_members(leader: int) -> list[tuple[int, int]]:
    """(pid, RSS bytes) of every live process in ``leader``'s session (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == leader and fields[0] != "Z":
                pages = int((entry / "statm").read_text().split()[1])
                found.append((int(entry.name), pages * 4096))
        except OSError:
            continue
    return found


@pytest.mark.slow
def test_mlflow_ui_starts_light_without_the_job_runner(tmp_path: Path) -> None:
    """MLflow 3 starts a job runner by default (GenAI jobs): ~8 more processes, ~1.4 GB."""
    settings = Settings(
        home=tmp_path / "home",
        mlflow_ui_port=free_port(),
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
    )
    service = mlflow_service(settings, 120)
    assert service is not None
    assert service.env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    with Supervisor(tmp_path / "logs") as supervisor:
        running = supervisor.start_ready(service)
        assert httpx.get(f"{running.service.ready_url}", timeout=10).status_code == 200
        members = session_members(running.pid)
        assert 1 <= len(members) <= 3, members
        assert sum(rss for _, rss in members) < 800 * 2**20
