"""Run the pipeline on this machine with KFP's local runner, and say what it decided.

``kfp.local`` runs each step as a subprocess of this Python (``SubprocessRunner`` without
a venv), so the steps use the installed homeval and inherit this environment: the same
``HOMEVAL_*`` settings as the caller.  KFP prints its progress and the steps' logs on
stdout; they are captured here line by line and handed to ``on_line`` (the CLI puts them
on stderr, keeping stdout for its result) while task starts and ends drive ``on_task``.

What the run decided is read back from ``trainlogs`` by the run's id, which this runner
chooses and passes as the ``pipeline_run`` parameter (``homeval.workflow.steps.run_decisions``).
"""

import io
import re
import secrets
import time
import warnings
from collections.abc import Callable, Mapping
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from homeval_contract.decisions import NOTHING
from homeval_contract.result import FAILED, SUCCEEDED, PipelineOutcome

from homeval.data.store import Store
from homeval.platform.retention import prune
from homeval.platform.settings import Settings
from homeval.workflow.steps import RunDecisions, run_decisions

TASKS: Final = ("collect", "process", "gates", "drift", "train", "promote")
"""The pipeline's tasks in order (KFP names them after the component functions)."""

_ANSI: Final = re.compile(r"\x1b\[[0-9;]*m")
_STARTED: Final = re.compile(r"Executing task '(?P<task>[\w-]+)'")
_FINISHED: Final = re.compile(r"Task '(?P<task>[\w-]+)' finished with status (?P<status>\w+)")


@dataclass(frozen=True)
class LocalRunResult:
    """One local run: its id, KFP's verdict, and what the steps decided."""

    run_id: str
    state: str
    decisions: RunDecisions
    seconds: float
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.state == SUCCEEDED

    def contract(self) -> dict[str, Any]:
        """The ``homeval pipeline run --json`` object (``homeval_contract.result``, which the
        Airflow DAG parses it with)."""
        return PipelineOutcome(self.run_id, self.state, self.decisions).to_dict()


def new_run_id() -> str:
    """A sortable, unique name for a local run."""
    return f"local-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


class _Lines(io.TextIOBase):
    """A text stream that hands every complete line to a callback."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        self._on_line = on_line
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._on_line(line)
        return len(text)

    def close_pending(self) -> None:
        if self._pending:
            self._on_line(self._pending)
            self._pending = ""


def run_locally(
    settings: Settings,
    arguments: Mapping[str, Any] | None = None,
    *,
    run_id: str | None = None,
    on_line: Callable[[str], None] | None = None,
    on_task: Callable[[str, str], None] | None = None,
    container_env: Mapping[str, str] | None = None,
) -> LocalRunResult:
    """Run the whole pipeline locally; never raises for a failed step (state says it).

    ``arguments`` are pipeline parameters (e.g. ``min_clean_rows``); ``on_task`` gets
    ``(task, "RUNNING" | "SUCCESS" | "FAILURE")``.  With ``container_env`` every step
    runs in ``settings.component_image`` instead (KFP's ``DockerRunner``, which needs the
    ``docker`` package and an engine), as a cluster runs it: the image's user, a read-only
    root with ``/tmp`` and ``/data`` writable, and only ``container_env`` — what the
    ConfigMap and Secrets give a step — for configuration; on the host network, so the
    addresses in it are the host's.
    """
    from kfp import local

    from pipelines.house_price import make_pipeline

    run_id = run_id or new_run_id()
    started = time.monotonic()

    def line(raw: str) -> None:
        text = _ANSI.sub("", raw).rstrip()
        if on_line is not None and text.strip():
            on_line(text)
        if on_task is not None:
            if found := _STARTED.search(text):
                on_task(found["task"], "RUNNING")
            elif found := _FINISHED.search(text):
                on_task(found["task"], found["status"])

    settings.pipeline_root.mkdir(parents=True, exist_ok=True)
    sink = _Lines(line)
    state, error = SUCCEEDED, None
    with redirect_stdout(sink), warnings.catch_warnings():
        # the component image is for clusters; locally the steps run in this Python
        warnings.filterwarnings("ignore", message=".*non-Python base image.*")
        # memory limits and display names are for clusters too; one warning per task is noise
        warnings.filterwarnings("ignore", message=".*no effect in the current local runner.*")
        try:
            local.init(
                runner=_runner(settings, container_env),
                pipeline_root=str(settings.pipeline_root),
                raise_on_error=True,
            )
            pipeline = make_pipeline(settings.component_image, container_env)
            pipeline(**{**(arguments or {}), "pipeline_run": run_id})
        except Exception as exc:  # a failed step, or a pipeline that would not start
            state, error = FAILED, f"{type(exc).__name__}: {exc}"
        finally:
            sink.close_pending()
    # the run's outputs are in the store and MLflow; its folder is a local copy
    prune(settings.pipeline_root, "*", settings.keep_local_runs, folders=True)

    try:
        decisions = _decisions(settings, run_id)
    except Exception as exc:  # the store is gone: the run cannot say what it did
        decisions = NOTHING
        state = FAILED
        error = error or f"cannot read the run's decisions from the store: {exc}"
    return LocalRunResult(run_id, state, decisions, time.monotonic() - started, error)


def _runner(settings: Settings, container_env: Mapping[str, str] | None) -> Any:
    from kfp import local

    if container_env is None:
        return local.SubprocessRunner(use_venv=False)
    # the steps run as the image's user and write their outputs into the bind-mounted
    # pipeline root: let any user create files there, as in /tmp (sticky bit)
    settings.pipeline_root.chmod(0o1777)
    return local.DockerRunner(
        network_mode="host",
        read_only=True,
        tmpfs={"/tmp": "mode=1777", "/data": "uid=1000,gid=1000"},  # noqa: S108 (in the container)
    )


def _decisions(settings: Settings, run_id: str) -> RunDecisions:
    store = Store.from_settings(settings)
    try:
        store.init()
        return run_decisions(store, run_id)
    finally:
        store.dispose()
