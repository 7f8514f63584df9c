"""The local platform's services as ``homeval up`` starts them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from homeval.platform.launcher import LaunchError, Supervisor
from homeval.platform.services import ProductionQuery, mlflow_service, mlflow_ui_url
from homeval.platform.settings import Settings
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
def test_mlflow_ui_is_one_light_process_over_the_platform_store(tmp_path: Path) -> None:
    """``mlflow server`` runs a parent (~250 MB) beside its uvicorn worker, and MLflow 3
    adds a job runner (~8 processes, ~1.4 GB): the platform runs MLflow's app alone."""
    settings = Settings(
        home=tmp_path / "home",
        mlflow_ui_port=free_port(),
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        mlflow_artifact_root=str(tmp_path / "artifacts"),
    )
    service = mlflow_service(settings, 120)
    assert service is not None
    assert service.env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    with Supervisor(tmp_path / "logs") as supervisor:
        running = supervisor.start_ready(service)
        url = mlflow_ui_url(settings)
        page = httpx.get(f"{url}/", timeout=10)
        assert page.status_code == 200
        assert "<html" in page.text.lower()
        found = httpx.get(f"{url}/ajax-api/2.0/mlflow/experiments/search?max_results=5")
        assert found.status_code == 200, found.text
        default = found.json()["experiments"][0]
        # the stores the command line names are the ones the UI serves
        assert default["artifact_location"].startswith(str(tmp_path / "artifacts"))
        assert (tmp_path / "mlflow.db").exists()
        members = session_members(running.pid)
        assert len(members) == 1, members
        assert sum(rss for _, rss in members) < 400 * 2**20


def test_production_query_reads_the_alias_in_a_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``homeval up`` starts the query first and reads it once its store and feed are up."""
    monkeypatch.setenv("HOMEVAL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HOMEVAL_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert ProductionQuery().version() is None  # a new store: made, nothing in production
    assert (tmp_path / "mlflow.db").exists()

    stopped = ProductionQuery()
    stopped.close()  # `up` failed before reading it: the child does not linger
    assert stopped._process.returncode is not None

    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("HOMEVAL_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/a-file/m.db")
    with pytest.raises(LaunchError, match="cannot read the production model from MLflow"):
        ProductionQuery().version()
