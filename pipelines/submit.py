"""Send the compiled pipeline to a KFP API and, if asked, wait for the run's outcome.

The run carries the compiled YAML itself (``create_run_from_pipeline_package``), so what
runs is exactly the committed file, and no pipeline version has to be managed on the
server.  Arguments are checked against the parameters the package declares before
anything is sent, so a typo fails here with the list of names, not on the cluster.
"""

import sys
import time
import warnings
from collections.abc import Callable, Mapping
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

SUCCESS_STATES: Final = frozenset({"SUCCEEDED"})
FAILURE_STATES: Final = frozenset({"FAILED", "CANCELED", "CANCELLED", "SKIPPED", "ERROR"})


class SubmitError(RuntimeError):
    """The run could not be created, or its outcome not learnt."""


@dataclass
class SubmitResult:
    """A run on the KFP API and its last known state."""

    run_id: str
    host: str
    experiment: str
    run_name: str
    arguments: dict[str, Any]
    state: str = "PENDING"
    error: str | None = None
    tasks: dict[str, str] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.state in SUCCESS_STATES | FAILURE_STATES

    @property
    def succeeded(self) -> bool:
        return self.state in SUCCESS_STATES


def package_parameters(package: Path) -> dict[str, Any]:
    """Parameters the compiled pipeline takes, with their defaults."""
    if not package.is_file():
        raise SubmitError(f"no compiled pipeline at {package}; run `homeval pipeline compile`")
    try:
        spec = next(yaml.safe_load_all(package.read_text(encoding="utf-8")), None)
    except yaml.YAMLError as exc:
        raise SubmitError(f"{package} is not YAML: {exc}") from None
    if not isinstance(spec, dict) or "root" not in spec or "pipelineInfo" not in spec:
        raise SubmitError(f"{package} is not a compiled KFP pipeline (no root / pipelineInfo)")
    params = spec["root"].get("inputDefinitions", {}).get("parameters", {}) or {}
    return {name: p.get("defaultValue") for name, p in params.items()}


def _state(run: Any) -> str:
    return str(getattr(run, "state", None) or "PENDING").upper()


def _tasks(run: Any) -> dict[str, str]:
    details = getattr(run, "run_details", None)
    tasks = getattr(details, "task_details", None) or []
    return {str(t.display_name or t.task_id): str(t.state or "PENDING") for t in tasks}


def _error(run: Any) -> str | None:
    error = getattr(run, "error", None)
    message = getattr(error, "message", None) if error is not None else None
    return str(message) if message else None


def submit(
    host: str,
    package: Path,
    arguments: Mapping[str, Any],
    *,
    experiment: str,
    run_name: str,
    wait: bool = False,
    timeout_s: float = 3600.0,
    poll_s: float = 10.0,
    on_state: Callable[[SubmitResult], None] | None = None,
) -> SubmitResult:
    """Create a run of ``package`` on the KFP API at ``host``; with ``wait``, until it ends.

    Raises ``SubmitError`` when the API refuses or cannot be reached, or the wait times
    out; a run that ends FAILED is returned (``succeeded`` is False), not raised.
    """
    if not host:
        raise SubmitError("no KFP host: pass --host or set HOMEVAL_KFP_HOST")
    accepted = package_parameters(package)
    unknown = sorted(set(arguments) - set(accepted))
    if unknown:
        raise SubmitError(
            f"the pipeline takes no parameter {', '.join(unknown)} "
            f"(it takes: {', '.join(sorted(accepted))})"
        )
    import kfp
    from kfp_server_api.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    transient = (ApiException, HTTPError, OSError)
    # kfp.Client prints links on stdout and warns about old servers: both go to stderr
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
        raise SubmitError(f"KFP API at {host} refused the run: {exc}") from None
    result = SubmitResult(str(created.run_id), host, experiment, run_name, dict(arguments))
    if on_state is not None:
        on_state(result)
    if not wait:
        return result

    deadline = time.monotonic() + timeout_s
    failures = 0
    while True:
        try:
            run = client.get_run(result.run_id)
            failures = 0
        except transient as exc:
            failures += 1
            if failures >= 5:
                raise SubmitError(f"lost the KFP API at {host} while waiting: {exc}") from None
        else:
            state = _state(run)
            changed = state != result.state
            result.state, result.tasks, result.error = state, _tasks(run), _error(run)
            if changed and on_state is not None:
                on_state(result)
            if result.finished:
                return result
        if time.monotonic() >= deadline:
            raise SubmitError(
                f"run {result.run_id} still {result.state} after {timeout_s:.0f} s "
                "(the run itself goes on)"
            )
        time.sleep(poll_s)
