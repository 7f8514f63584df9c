"""The local platform that ``homeval up`` runs: which processes, on which ports, and how
the pipeline keeps training while they serve.

Everything is derived from settings, so the same ``make up`` works from any checkout;
each service is the very command a user would type (``homeval serve``, ``homeval ui``),
started with this interpreter so it runs in the same environment.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final
from urllib.parse import urlsplit

from homeval.platform.launcher import Service
from homeval.platform.settings import Settings

log = logging.getLogger(__name__)

LOCAL_HOSTS: Final = ("127.0.0.1", "localhost", "::1", "0.0.0.0")  # noqa: S104 - names, not binds
HOMEVAL: Final = (sys.executable, "-m", "homeval")


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.hostname in LOCAL_HOSTS and parts.port is not None


def feed_service(settings: Settings, ready_timeout_s: float) -> Service:
    parts = urlsplit(settings.feed_url.rstrip("/"))
    return Service(
        name="feed",
        command=[sys.executable, "-m", "datasource"],
        env={
            "HOMEVAL_DATASOURCE_HOST": parts.hostname or "127.0.0.1",
            "HOMEVAL_DATASOURCE_PORT": str(parts.port),
            "HOMEVAL_DATASOURCE_STATE_FILE": str(
                settings.datasource_state_file or settings.home / "datasource-cursors.jsonl"
            ),
        },
        ready_url=f"{settings.feed_url.rstrip('/')}/health",
        ready_timeout_s=ready_timeout_s,
        port=(parts.hostname or "127.0.0.1", parts.port or 80),
        port_setting="HOMEVAL_FEED_URL",
    )


def mlflow_ui_url(settings: Settings) -> str:
    return f"http://{settings.predictor_host}:{settings.mlflow_ui_port}"


def mlflow_service(settings: Settings, ready_timeout_s: float) -> Service | None:
    """MLflow's UI over the platform's own tracking store (None when that store is a server)."""
    uri = settings.mlflow_tracking_uri
    if uri.startswith(("http://", "https://")):
        return None
    return Service(
        name="mlflow",
        command=[
            # one process where `mlflow server` runs two (homeval/cli/mlflow_ui.py)
            *(sys.executable, "-m", "homeval.cli.mlflow_ui"),
            *("--backend-store-uri", uri, "--default-artifact-root", settings.mlflow_artifact_root),
            *("--host", settings.predictor_host, "--port", str(settings.mlflow_ui_port)),
        ],
        # no job runner (GenAI evaluation jobs, never used here; `mlflow server` would start
        # ~8 more processes and ~2 GB for it)
        env={"MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        ready_url=f"{mlflow_ui_url(settings)}/health",
        ready_timeout_s=max(ready_timeout_s, 120.0),
        port=(settings.predictor_host, settings.mlflow_ui_port),
        port_setting="HOMEVAL_MLFLOW_UI_PORT",
    )


def predictor_service(settings: Settings, ready_timeout_s: float) -> Service:
    return Service(
        name="predictor",
        command=[*HOMEVAL, "serve"],
        ready_url=f"{settings.predictor_url.rstrip('/')}/v1/models/{settings.model_name}",
        ready_timeout_s=max(ready_timeout_s, 120.0),
        port=(settings.predictor_host, settings.predictor_port),
        port_setting="HOMEVAL_PREDICTOR_PORT",
    )


def ui_url(settings: Settings) -> str:
    return f"http://{settings.ui_host}:{settings.ui_port}"


def ui_service(settings: Settings, ready_timeout_s: float) -> Service:
    return Service(
        name="ui",
        command=[*HOMEVAL, "ui"],
        env={"GRADIO_ANALYTICS_ENABLED": "False"},
        ready_url=f"{ui_url(settings)}/healthz",
        ready_timeout_s=max(ready_timeout_s, 120.0),
        port=(settings.ui_host, settings.ui_port),
        port_setting="HOMEVAL_UI_PORT",
    )


class ProductionQuery:
    """The version in production, read by a child process (``homeval.registry.production_version``)
    with the same environment, so MLflow stays out of ``homeval up``'s memory; the child
    also creates MLflow's store when it is new.  It starts at once and is read with
    ``version()``, so ``up`` prepares its store and feed while the child imports MLflow."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "homeval.registry.production_version"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._read = False

    def version(self) -> str | None:
        """Wait for the answer (once); LaunchError with the child's last words if it failed."""
        from homeval.platform.launcher import LaunchError

        out, err = self._process.communicate()
        self._read = True
        if self._process.returncode != 0:
            last = "\n".join(err.strip().splitlines()[-5:])
            raise LaunchError(f"cannot read the production model from MLflow:\n{last}")
        version = out.strip().splitlines()[-1] if out.strip() else ""
        return version or None

    def close(self) -> None:
        """Stop the child if nobody waits for it any more (``up`` failing early)."""
        if self._read:
            return
        if self._process.poll() is None:
            self._process.kill()
        self._process.communicate()
        self._read = True


def production_version() -> str | None:
    """The version in production now (see ``ProductionQuery``)."""
    return ProductionQuery().version()


# --- the pipeline ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineOutcome:
    """One pipeline run as ``homeval pipeline run --json`` reported it."""

    code: int
    result: dict[str, Any] | None

    @property
    def succeeded(self) -> bool:
        return self.code == 0 and (self.result or {}).get("state") == "SUCCEEDED"

    @property
    def decisions(self) -> dict[str, Any]:
        return dict((self.result or {}).get("decisions") or {})

    def summary(self) -> str:
        if not self.result:
            return f"the pipeline failed (exit {self.code})"
        d = self.decisions
        if d.get("promoted"):
            what = f"model v{d.get('model_version')} promoted to production"
        elif d.get("trained"):
            what = "trained; the champion stays"
        else:
            what = f"training skipped: {d.get('skip_reason') or 'no reason given'}"
        return (
            f"pipeline {self.result.get('run_id')} {str(self.result.get('state')).lower()}: "
            f"{d.get('collected_rows', 0):,} rows collected, {d.get('clean_rows', 0):,} clean; "
            f"{what}"
        )


def run_pipeline(
    log_path: Path,
    stderr: IO[str] | int | None = None,
    *,
    new_session: bool = False,
    on_start: Callable[[subprocess.Popen[str]], None] | None = None,
) -> PipelineOutcome:
    """``homeval pipeline run --json`` as a child; its last stdout line is the result.

    The steps' logs go to ``log_path``; ``stderr`` gets the step-by-step progress.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with subprocess.Popen(
        [*HOMEVAL, "pipeline", "run", "--json", "--log", str(log_path)],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        start_new_session=new_session,
    ) as process:
        if on_start is not None:
            on_start(process)
        stdout, _ = process.communicate()
    lines = [line for line in stdout.splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        result = None
    return PipelineOutcome(process.returncode, result if isinstance(result, dict) else None)


class PipelineSchedule:
    """Runs the pipeline every ``interval_s`` in the background, one run at a time.

    Output goes to ``log_path``; each run's one-line summary goes to ``report``.
    ``stop`` ends the schedule and the run in progress (its whole process group).
    """

    def __init__(
        self, interval_s: float, log_path: Path, report: Callable[[PipelineOutcome], None]
    ) -> None:
        self.interval_s = interval_s
        self.log_path = log_path
        self.report = report
        self._stop = threading.Event()
        self._current: subprocess.Popen[str] | None = None
        self._thread = threading.Thread(target=self._loop, name="pipeline-schedule", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _started(self, process: subprocess.Popen[str]) -> None:
        self._current = process
        if self._stop.is_set():  # stopped while it was starting
            _terminate_group(process)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            outcome = run_pipeline(
                self.log_path, subprocess.DEVNULL, new_session=True, on_start=self._started
            )
            self._current = None
            if not self._stop.is_set():
                self.report(outcome)

    def stop(self) -> None:
        self._stop.set()
        if self._current is not None:
            _terminate_group(self._current)
        self._thread.join(timeout=30)


def _terminate_group(process: subprocess.Popen[str]) -> None:
    """SIGTERM to the run's process group (KFP's local runner starts a child per step)."""
    import contextlib
    import os
    import signal

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
