"""The supervisor with real processes: readiness, clear failures, nothing left behind."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from homeval.platform.launcher import LaunchError, Service, Supervisor, tail, url_answers
from tests.conftest import free_port

PY = sys.executable


def alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def http_server(port: int) -> list[str]:
    return [PY, "-m", "http.server", str(port), "--bind", "127.0.0.1"]


def test_starts_waits_and_stops_a_service(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with Supervisor(tmp_path / "logs") as supervisor:
        running = supervisor.start_ready(Service("web", http_server(port), ready_url=url))
        assert url_answers(url)
        assert supervisor.pids() == {"web": running.pid}
        assert os.getpgid(running.pid) == running.pid  # its own process group
        supervisor.check()
    assert not alive(running.pid)
    assert not url_answers(url)
    assert (tmp_path / "logs/web.log").exists()


def test_stopping_reaches_grandchildren(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    script = f"sleep 300 & echo $! > {pidfile}; wait"
    supervisor = Supervisor(tmp_path / "logs")
    supervisor.start(Service("shell", ["/bin/sh", "-c", script]))
    deadline = time.monotonic() + 10
    while not pidfile.exists() or not pidfile.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    grandchild = int(pidfile.read_text())
    assert alive(grandchild)
    supervisor.stop_all()
    deadline = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(grandchild)


def test_a_service_ignoring_sigterm_is_killed(tmp_path: Path) -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"
    supervisor = Supervisor(tmp_path / "logs")
    running = supervisor.start(Service("stubborn", [PY, "-c", code]))
    time.sleep(0.3)
    started = time.monotonic()
    supervisor.stop("stubborn", timeout_s=0.5)
    assert time.monotonic() - started < 5
    assert not alive(running.pid)
    assert running.process.returncode == -signal.SIGKILL


def test_a_service_that_dies_early_is_reported_with_its_log(tmp_path: Path) -> None:
    code = "import sys; print('cannot open the data file'); sys.exit(3)"
    with Supervisor(tmp_path / "logs") as supervisor, pytest.raises(LaunchError) as caught:
        supervisor.start_ready(Service("feed", [PY, "-c", code], ready_url="http://127.0.0.1:9/"))
    message = str(caught.value)
    assert "feed exited with code 3 before ready" in message
    assert "cannot open the data file" in message


def test_a_service_that_never_answers_times_out_with_its_log(tmp_path: Path) -> None:
    code = "import time; print('still loading', flush=True); time.sleep(300)"
    service = Service(
        "slow",
        [PY, "-c", code],
        ready_url=f"http://127.0.0.1:{free_port()}/",
        ready_timeout_s=1.0,
    )
    supervisor = Supervisor(tmp_path / "logs")
    with pytest.raises(LaunchError, match=r"slow did not answer .* within 1 s") as caught:
        supervisor.start_ready(service)
    assert "still loading" in str(caught.value)
    running = supervisor.services["slow"]
    supervisor.stop_all()
    assert not alive(running.pid)


def test_check_notices_a_service_that_stopped(tmp_path: Path) -> None:
    with Supervisor(tmp_path / "logs") as supervisor:
        supervisor.start(Service("brief", [PY, "-c", "print('bye')"]))
        time.sleep(0.5)
        with pytest.raises(LaunchError, match="brief stopped unexpectedly"):
            supervisor.watch(until=time.monotonic() + 5)


def test_a_missing_program_is_a_launch_error(tmp_path: Path) -> None:
    with pytest.raises(LaunchError, match="cannot start ghost"):
        Supervisor(tmp_path).start(Service("ghost", ["/no/such/program"]))


def test_a_name_is_started_once(tmp_path: Path) -> None:
    with Supervisor(tmp_path) as supervisor:
        supervisor.start(Service("once", [PY, "-c", "import time; time.sleep(30)"]))
        with pytest.raises(LaunchError, match="already started"):
            supervisor.start(Service("once", [PY, "-c", "pass"]))


def test_tail_reads_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("\n".join(f"line {i}" for i in range(100)))
    assert tail(log, 3) == "line 97\nline 98\nline 99"
    assert tail(tmp_path / "absent.log") == ""


def test_a_service_whose_port_is_taken_is_refused_before_it_starts(tmp_path: Path) -> None:
    port = free_port()
    with Supervisor(tmp_path / "logs") as other:  # another instance serving there
        holder = other.start_ready(
            Service("web", http_server(port), ready_url=f"http://127.0.0.1:{port}/")
        )
        service = Service(
            "predictor",
            http_server(port),
            ready_url=f"http://127.0.0.1:{port}/",  # answers, but not ours
            port=("127.0.0.1", port),
            port_setting="HOMEVAL_PREDICTOR_PORT",
        )
        supervisor = Supervisor(tmp_path / "mine")
        with pytest.raises(LaunchError) as caught:
            supervisor.start_ready(service)
        assert supervisor.pids() == {}, "nothing was started"
        assert not (tmp_path / "mine").exists()
    message = str(caught.value)
    assert message.startswith(f"predictor cannot start: port {port} on 127.0.0.1 is already")
    assert f"in use by pid {holder.pid} (" in message
    assert "HOMEVAL_PREDICTOR_PORT" in message
