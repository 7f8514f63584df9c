"""Submit the compiled pipeline to a KFP API, wait for the run, terminate it at the deadline.

``homeval pipeline submit`` and the Airflow DAG's cluster mode both call ``submit_run``:

* the run carries the compiled YAML itself (``create_run_from_pipeline_package``), so what
  runs is exactly the committed file and no pipeline version is managed on the server;
* arguments are checked against the parameters the package declares before anything is
  sent, so a typo fails here with the list of names, not on the cluster;
* waiting is a loop of our own rather than ``Client.wait_for_run_completion``, so each
  state change reaches the caller, a few transient API errors do not fail a long run, and
  the deadline ends the wait with a clear message;
* **at the deadline the run is terminated**: whoever waited reports a failure, and a retry
  or the next scheduled run would otherwise start a second pipeline writing to the same
  store and registry while the first still runs.

A run that ends without succeeding is returned (``succeeded`` is False), not raised: the
caller decides what a failed run means to it.  kfp (and its PyYAML) is imported inside
the functions, so importing this module costs nothing where no run is submitted.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from contextlib import redirect_stdout
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final

SUCCESS_STATES: Final = frozenset({"SUCCEEDED"})
# KFP v2's terminal states; "ERROR" is what KFP v1 backends report
FAILURE_STATES: Final = frozenset({"FAILED", "CANCELED", "CANCELLED", "SKIPPED", "ERROR"})
UNKNOWN_STATE: Final = "RUNTIME_STATE_UNSPECIFIED"
"""KFP's own name for a state the API did not report."""
MAX_POLL_ERRORS: Final = 5
"""API errors in a row that end the wait (fewer are ridden out)."""

_log = logging.getLogger(__name__)


class SubmitError(RuntimeError):
    """The run could not be created or followed; ``run`` is set once a run exists."""

    def __init__(self, message: str, run: KfpRun | None = None) -> None:
        super().__init__(message)
        self.run = run


class DeadlineError(SubmitError):
    """The run outlived the wait and was terminated (or could not be: the message says)."""


@dataclass(frozen=True)
class KfpRun:
    """A run on the KFP API as the API last reported it."""

    run_id: str
    host: str
    experiment: str
    run_name: str
    arguments: dict[str, Any]
    state: str = UNKNOWN_STATE
    error: str | None = None
    tasks: dict[str, str] = field(default_factory=dict)
    decisions: dict[str, Any] | None = None
    """What the run decided (``decisions.Decisions.to_dict``), when the caller read it."""

    @property
    def finished(self) -> bool:
        return self.state in SUCCESS_STATES | FAILURE_STATES

    @property
    def succeeded(self) -> bool:
        return self.state in SUCCESS_STATES

    def summary(self) -> str:
        tasks = ", ".join(f"{name}={state}" for name, state in sorted(self.tasks.items()))
        detail = f"; tasks: {tasks}" if tasks else ""
        error = f"; error: {self.error}" if self.error else ""
        return (
            f"KFP run {self.run_id} ({self.run_name}) on {self.host}: {self.state}{detail}{error}"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def package_parameters(package: Path) -> dict[str, Any]:
    """Parameters the compiled pipeline takes (its root input definitions), with defaults."""
    import yaml  # kfp's own dependency

    if not package.is_file():
        raise SubmitError(
            f"no compiled pipeline at {package}; create it with `homeval pipeline compile`"
        )
    try:
        with package.open(encoding="utf-8") as stream:
            spec = next(yaml.safe_load_all(stream), None)
    except yaml.YAMLError as exc:
        raise SubmitError(f"{package} is not valid YAML: {exc}") from None
    if not isinstance(spec, dict) or "root" not in spec or "pipelineInfo" not in spec:
        raise SubmitError(f"{package} is not a compiled KFP pipeline (no root/pipelineInfo)")
    params = spec["root"].get("inputDefinitions", {}).get("parameters", {}) or {}
    return {name: (p or {}).get("defaultValue") for name, p in params.items()}


def brief(exc: BaseException) -> str:
    """One line for an API error (kfp's ApiException prints headers and body on many)."""
    status = getattr(exc, "status", None)
    if status is not None:
        body = " ".join(str(getattr(exc, "body", "") or "").split())
        return f"HTTP {status} {getattr(exc, 'reason', '') or ''}: {body[:200]}".strip(" :")
    return " ".join(str(exc).split())[:300]


def _state(run: Any) -> str:
    return str(getattr(run, "state", None) or UNKNOWN_STATE).upper()


def _tasks(run: Any) -> dict[str, str]:
    details = getattr(run, "run_details", None)
    tasks = getattr(details, "task_details", None) or []
    return {str(t.display_name or t.task_id): str(t.state or UNKNOWN_STATE) for t in tasks}


def _error(run: Any) -> str | None:
    error = getattr(run, "error", None)
    message = getattr(error, "message", None) if error is not None else None
    return str(message) if message else None


def _transient() -> tuple[type[BaseException], ...]:
    """The errors of an unreachable or refusing API (not of a bug of ours)."""
    from kfp_server_api.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    return (ApiException, HTTPError, OSError)


def submit_run(
    host: str,
    package: Path,
    arguments: Mapping[str, Any],
    *,
    experiment: str,
    run_name: str,
    wait: bool = False,
    timeout_s: float = 3600.0,
    poll_s: float = 10.0,
    on_state: Callable[[KfpRun], None] | None = None,
    log: logging.Logger | None = None,
) -> KfpRun:
    """Create a run of ``package`` on the KFP API at ``host``; with ``wait``, until it ends.

    ``on_state`` hears the run once it is created and at every change of its state; ``log``
    hears the API errors ridden out while waiting.  Raises ``SubmitError`` when the API
    refuses or is lost, ``DeadlineError`` when the run is still going after ``timeout_s``
    (it is terminated then).
    """
    log = log or _log
    if not host:
        raise SubmitError("no KFP host given")
    accepted = package_parameters(package)
    unknown = sorted(set(arguments) - set(accepted))
    if unknown:
        raise SubmitError(
            f"the compiled pipeline {package.name} takes no parameter named "
            f"{', '.join(unknown)} (it takes: {', '.join(sorted(accepted)) or 'none'})"
        )
    import kfp  # heavy: only when a run is submitted

    transient = _transient()
    # kfp.Client prints links on stdout (the CLI's stdout is its result) and warns about
    # servers older than 2.0.0-beta.2: both are noise here
    try:
        with redirect_stdout(sys.stderr), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            client = kfp.Client(host=host)
            created = client.create_run_from_pipeline_package(
                pipeline_file=str(package),
                arguments=dict(arguments),
                run_name=run_name,
                experiment_name=experiment,
            )
    except transient as exc:
        raise SubmitError(f"KFP API at {host} refused the run: {brief(exc)}") from None
    run = KfpRun(
        run_id=str(created.run_id),
        host=host,
        experiment=experiment,
        run_name=run_name,
        arguments=dict(arguments),
        state=_state(getattr(created, "run_info", None)),
    )
    log.info("KFP run %s created (%s) on %s", run.run_id, run_name, host)
    if on_state is not None:
        on_state(run)
    if not wait:
        return run
    return _wait(client, run, timeout_s, poll_s, on_state, log, transient)


def _wait(
    client: Any,
    run: KfpRun,
    timeout_s: float,
    poll_s: float,
    on_state: Callable[[KfpRun], None] | None,
    log: logging.Logger,
    transient: tuple[type[BaseException], ...],
) -> KfpRun:
    deadline = time.monotonic() + timeout_s
    errors = 0
    while True:
        try:
            got = client.get_run(run.run_id)
            errors = 0
        except transient as exc:
            errors += 1
            log.warning(
                "polling KFP run %s failed (%d/%d): %s",
                run.run_id,
                errors,
                MAX_POLL_ERRORS,
                brief(exc),
            )
            if errors >= MAX_POLL_ERRORS:
                raise SubmitError(
                    f"lost the KFP API at {run.host} while waiting for run {run.run_id}: "
                    f"{brief(exc)}",
                    run,
                ) from None
        else:
            before = run.state
            run = replace(run, state=_state(got), error=_error(got), tasks=_tasks(got))
            if run.state != before and on_state is not None:
                on_state(run)
            if run.finished:
                return run
        left = deadline - time.monotonic()
        if left <= 0:
            raise DeadlineError(
                f"KFP run {run.run_id} still {run.state} after {timeout_s:.0f} s; "
                f"stopped waiting and {terminate(client, run.run_id, log, transient)}",
                run,
            )
        time.sleep(min(poll_s, left))


def terminate(
    client: Any, run_id: str, log: logging.Logger, transient: tuple[type[BaseException], ...]
) -> str:
    """Ask KFP to terminate the run; says what became of it."""
    try:
        client.terminate_run(run_id)
        done = "asked KFP to terminate it"
    except transient as exc:
        done = f"could not terminate it ({brief(exc)}); it may still be running"
    log.warning("KFP run %s past its deadline: %s", run_id, done)
    return done
