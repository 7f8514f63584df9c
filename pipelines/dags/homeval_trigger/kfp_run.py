"""Cluster mode: submit the compiled pipeline to a KFP API and wait, as the platform's
``homeval pipeline submit --wait`` does: both call ``homeval_contract.kfp_run.submit_run``,
which terminates the KFP run at the deadline (the task fails, and a retry or the next
scheduled run would otherwise start a second pipeline writing to the same store and
registry while the first still runs).

What is the DAG's own: the run's params become the pipeline's arguments, every state
change reaches the task log, the run id reaches XCom as soon as the run exists, a run
that did not succeed fails the task, and the run's decisions are read back from the
platform's store when the worker knows its URL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from homeval_contract.kfp_run import KfpRun, SubmitError, brief, package_parameters, submit_run
from homeval_contract.result import PipelineOutcome
from homeval_contract.thresholds import Thresholds

from .decisions import read_decisions

ClusterOutcome = KfpRun
"""A KFP run as the API last reported it, with its decisions when they could be read."""


class ClusterRunError(RuntimeError):
    """Submitting or waiting for the KFP run failed; ``outcome`` is set once a run exists."""

    def __init__(self, message: str, outcome: ClusterOutcome | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome


def pipeline_parameters(package: Path) -> set[str]:
    """Names of the parameters the compiled pipeline takes (its root input definitions)."""
    try:
        return set(package_parameters(package))
    except SubmitError as exc:
        raise ClusterRunError(
            f"{exc} (or point HOMEVAL_PIPELINE_PACKAGE / the pipeline_package param at it)"
        ) from None


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
        log.warning("cannot read run %s's decisions from the store: %s", outcome.run_id, brief(exc))
        return outcome
    if decisions is None:
        log.warning("the store has no trainlogs row of run %s", outcome.run_id)
        return outcome
    log.info("%s", PipelineOutcome(outcome.run_id, outcome.state, decisions).summary())
    return replace(outcome, decisions=decisions.to_dict())


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
    """Create a run of ``package`` on the KFP API at ``host``; return once it has succeeded.

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
    log.info(
        "submitting %s to KFP at %s (experiment %s, arguments %s)",
        package,
        host,
        experiment,
        arguments,
    )
    seen: list[str] = []

    def on_state(run: KfpRun) -> None:
        if not seen and on_submitted is not None:
            on_submitted(run.run_id)
        seen.append(run.state)
        log.info("KFP run %s is %s", run.run_id, run.state)

    try:
        outcome = submit_run(
            host,
            package,
            arguments,
            experiment=experiment,
            run_name=run_name,
            wait=True,
            timeout_s=timeout_s,
            poll_s=poll_s,
            on_state=on_state,
            log=log,
        )
    except SubmitError as exc:
        raise ClusterRunError(str(exc), exc.run) from None
    outcome = _with_decisions(outcome, database_url, log)
    if not outcome.succeeded:
        raise ClusterRunError(outcome.summary(), outcome)
    log.info("%s", outcome.summary())
    return outcome
