"""Cluster mode: submit the compiled pipeline to a KFP API with ``kfp.Client`` and wait.

The run carries the whole pipeline spec (no upload step), so what runs is exactly the
committed ``house_price_pipeline.yaml``.  Waiting is our own loop rather than
``Client.wait_for_run_completion`` so every state change reaches the task log, a few
transient API errors do not fail a long run, and a deadline ends the wait with a clear
message.  At the deadline the KFP run is terminated too: the task fails, and a retry or
the next scheduled run would otherwise start a second pipeline writing to the same store
and registry while the first still runs.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .decisions import read_decisions
from .outcome import PipelineOutcome
from .thresholds import Thresholds

SUCCESS_STATES = frozenset({"SUCCEEDED"})
# KFP v2 terminal states; "ERROR" is what KFP v1 backends report
FAILURE_STATES = frozenset({"FAILED", "CANCELED", "SKIPPED", "ERROR"})
_MAX_POLL_ERRORS = 5


class ClusterRunError(RuntimeError):
    """Submitting or waiting for the KFP run failed; ``outcome`` is set once a run exists."""

    def __init__(self, message: str, outcome: ClusterOutcome | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome


@dataclass(frozen=True)
class ClusterOutcome:
    """A KFP run as the API last reported it."""

    run_id: str
    state: str
    host: str
    experiment: str
    run_name: str
    arguments: dict[str, Any]
    error: str | None = None
    tasks: dict[str, str] = field(default_factory=dict)
    decisions: dict[str, Any] | None = None
    """What the run decided, from the platform's trainlogs (None: no store URL given)."""

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

    def to_xcom(self) -> dict[str, Any]:
        return asdict(self)


def pipeline_parameters(package: Path) -> set[str]:
    """Names of the parameters the compiled pipeline takes (its root input definitions)."""
    if not package.is_file():
        raise ClusterRunError(
            f"compiled pipeline not found at {package}; create it with `homeval pipeline "
            "compile` or point HOMEVAL_PIPELINE_PACKAGE / the pipeline_package param at it"
        )
    try:
        with package.open(encoding="utf-8") as stream:
            spec = next(yaml.safe_load_all(stream), None)
    except yaml.YAMLError as exc:
        raise ClusterRunError(f"{package} is not valid YAML: {exc}") from None
    if not isinstance(spec, dict) or "root" not in spec or "pipelineInfo" not in spec:
        raise ClusterRunError(f"{package} is not a compiled KFP pipeline (no root/pipelineInfo)")
    params = spec["root"].get("inputDefinitions", {}).get("parameters", {}) or {}
    return set(params)


def _state(run: Any) -> str:
    return str(run.state or "RUNTIME_STATE_UNSPECIFIED").upper()


def _error(run: Any) -> str | None:
    error = getattr(run, "error", None)
    message = getattr(error, "message", None) if error is not None else None
    return str(message) if message else None


def _tasks(run: Any) -> dict[str, str]:
    details = getattr(run, "run_details", None)
    tasks = getattr(details, "task_details", None) or []
    return {
        str(t.display_name or t.task_id): str(t.state or "RUNTIME_STATE_UNSPECIFIED") for t in tasks
    }


def _brief(exc: BaseException) -> str:
    """One line for an API error (kfp's ApiException prints headers and body on many)."""
    status = getattr(exc, "status", None)
    if status is not None:
        body = " ".join(str(getattr(exc, "body", "") or "").split())
        return f"HTTP {status} {getattr(exc, 'reason', '') or ''}: {body[:200]}".strip(" :")
    return " ".join(str(exc).split())[:300]


def _with_decisions(
    outcome: ClusterOutcome, database_url: str, log: logging.Logger
) -> ClusterOutcome:
    """The outcome with the run's decisions from trainlogs; unchanged if they cannot be read
    (the run's own state decides the task, not this report)."""
    if not database_url:
        return outcome
    try:
        decisions = read_decisions(database_url, outcome.run_id)
    except Exception as exc:  # the store is unreachable or not the platform's
        log.warning(
            "cannot read run %s's decisions from the store: %s", outcome.run_id, _brief(exc)
        )
        return outcome
    if decisions is None:
        log.warning("the store has no trainlogs row of run %s", outcome.run_id)
        return outcome
    log.info("%s", PipelineOutcome(outcome.run_id, outcome.state, decisions).summary())
    return replace(outcome, decisions=asdict(decisions))


def submit_and_wait(
    *,
    host: str,
    package: Path,
    thresholds: Thresholds,
    experiment: str,
    run_name: str,
    poll_s: float,
    timeout_s: float,
    log: logging.Logger,
    on_submitted: Callable[[str], None] | None = None,
    database_url: str = "",
) -> ClusterOutcome:
    """Create a run of ``package`` on the KFP API at ``host``; return once it has finished.

    With ``database_url`` (the platform's store) the finished run's decisions are read
    from ``trainlogs`` and added to the outcome.
    """
    if not host:
        raise ClusterRunError(
            "no KFP host: set the kfp_host param of the run or HOMEVAL_KFP_HOST on the worker"
        )
    accepted = pipeline_parameters(package)
    arguments, refused = thresholds.as_arguments(accepted)
    if refused:
        raise ClusterRunError(
            f"the compiled pipeline {package.name} takes no parameter named "
            f"{', '.join(refused)} (it takes: {', '.join(sorted(accepted)) or 'none'}); "
            "leave those params empty in cluster mode or recompile the pipeline"
        )

    import kfp  # heavy: imported only when a cluster run starts, not when the DAG is parsed
    from kfp_server_api.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    log.info(
        "submitting %s to KFP at %s (experiment %s, arguments %s)",
        package,
        host,
        experiment,
        arguments,
    )
    try:
        with warnings.catch_warnings():  # "only works with KFP 2.0.0-beta.2 and later": we know
            warnings.simplefilter("ignore", FutureWarning)
            client = kfp.Client(host=host)
        result = client.create_run_from_pipeline_package(
            pipeline_file=str(package),
            arguments=arguments,
            run_name=run_name,
            experiment_name=experiment,
        )
    except (ApiException, HTTPError, OSError, TimeoutError) as exc:
        raise ClusterRunError(f"KFP API at {host} refused the run: {exc}") from None
    run_id = str(result.run_id)
    log.info("KFP run %s created (%s)", run_id, run_name)
    if on_submitted is not None:
        on_submitted(run_id)

    def outcome(run: Any) -> ClusterOutcome:
        return ClusterOutcome(
            run_id=run_id,
            state=_state(run),
            host=host,
            experiment=experiment,
            run_name=run_name,
            arguments=arguments,
            error=_error(run),
            tasks=_tasks(run),
        )

    deadline = time.monotonic() + timeout_s
    last_state = ""
    errors = 0
    current = ClusterOutcome(run_id, "PENDING", host, experiment, run_name, arguments)
    while True:
        try:
            current = outcome(client.get_run(run_id))
            errors = 0
        except (ApiException, HTTPError, OSError) as exc:
            errors += 1
            log.warning(
                "polling KFP run %s failed (%d/%d): %s", run_id, errors, _MAX_POLL_ERRORS, exc
            )
            if errors >= _MAX_POLL_ERRORS:
                raise ClusterRunError(
                    f"lost the KFP API at {host} while waiting for run {run_id}: {exc}", current
                ) from None
        if current.state != last_state:
            log.info("KFP run %s is %s", run_id, current.state)
            last_state = current.state
        if current.state in SUCCESS_STATES:
            current = _with_decisions(current, database_url, log)
            log.info("%s", current.summary())
            return current
        if current.state in FAILURE_STATES:
            current = _with_decisions(current, database_url, log)
            raise ClusterRunError(current.summary(), current)
        if time.monotonic() >= deadline:
            try:
                client.terminate_run(run_id)
                cancelled = "asked KFP to terminate it"
            except (ApiException, HTTPError, OSError) as exc:
                cancelled = f"could not terminate it ({_brief(exc)}); it may still be running"
            log.warning("KFP run %s past its deadline: %s", run_id, cancelled)
            raise ClusterRunError(
                f"KFP run {run_id} still {current.state} after {timeout_s:.0f} s; "
                f"stopped waiting and {cancelled}",
                current,
            )
        time.sleep(poll_s)
