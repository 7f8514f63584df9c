"""Local mode: run the whole pipeline in the platform's own environment, as a child process.

The platform (homeval + kfp + kserve ...) lives in another virtualenv than Airflow, so the
DAG calls its CLI, ``homeval pipeline run --json``, which runs the pipeline through KFP's
local runner.  The child's stderr (its progress and logs) is streamed into the task log
line by line while it runs; its last stdout line is the result, parsed by
``homeval_contract.result`` (which the platform writes it with).  The child gets its own
process group so a timeout or a killed task stops the component processes it started, too.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import IO

from homeval_contract.result import ContractError, PipelineOutcome, parse_outcome
from homeval_contract.thresholds import Thresholds

_STDERR_TAIL = 20
_STOP_GRACE_S = 10.0


class PlatformRunError(RuntimeError):
    """The local pipeline run failed; ``outcome`` is set when the platform reported one."""

    def __init__(self, message: str, outcome: PipelineOutcome | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome


def pipeline_command(platform_bin: str) -> list[str]:
    """The command line of a local run, or a clear error when the executable is missing."""
    executable = shutil.which(platform_bin)
    if executable is None:
        raise PlatformRunError(
            f"platform executable {platform_bin!r} not found or not executable; "
            "set HOMEVAL_PLATFORM_BIN to the `homeval` of the platform's environment"
        )
    return [executable, "pipeline", "run", "--json"]


def _pump(stream: IO[str], sink: Callable[[str], None]) -> None:
    for raw in stream:
        line = raw.rstrip("\r\n")
        if line.strip():
            sink(line)


def _stop(proc: subprocess.Popen[str], log: logging.Logger) -> None:
    """Stop the child and everything it started (its process group)."""
    if proc.poll() is not None:
        return
    log.warning("stopping the platform's pipeline run (pid %s)", proc.pid)
    for sig, wait_s in ((signal.SIGTERM, _STOP_GRACE_S), (signal.SIGKILL, _STOP_GRACE_S)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def run_platform_pipeline(
    platform_bin: str,
    thresholds: Thresholds,
    log: logging.Logger,
    timeout_s: float,
    environ: Mapping[str, str] | None = None,
) -> PipelineOutcome:
    """Run ``homeval pipeline run --json`` and return its outcome; raise when it failed."""
    command = pipeline_command(platform_bin)
    overrides = thresholds.as_env()
    env = {**(os.environ if environ is None else environ), **overrides}
    shown = " ".join(f"{k}={v}" for k, v in sorted(overrides.items())) or "platform defaults"
    log.info("running %s (thresholds: %s)", " ".join(command), shown)

    stderr_tail: deque[str] = deque(maxlen=_STDERR_TAIL)
    stdout_lines: list[str] = []

    def on_stderr(line: str) -> None:
        stderr_tail.append(line)
        log.info("homeval | %s", line)

    def on_stdout(line: str) -> None:
        stdout_lines.append(line)
        log.info("homeval stdout | %s", line)

    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
        env=env,
        start_new_session=True,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    readers = [
        threading.Thread(target=_pump, args=(proc.stderr, on_stderr), daemon=True),
        threading.Thread(target=_pump, args=(proc.stdout, on_stdout), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        returncode = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise PlatformRunError(
            f"the pipeline run did not finish within {timeout_s:.0f} s and was stopped"
        ) from None
    finally:
        _stop(proc, log)
        for reader in readers:
            reader.join(timeout=_STOP_GRACE_S)
    return _judge(returncode, stdout_lines, list(stderr_tail))


def _judge(returncode: int, stdout_lines: list[str], stderr_tail: list[str]) -> PipelineOutcome:
    """Turn the child's exit code and last stdout line into an outcome or an error."""
    tail = "\n".join(stderr_tail[-5:]) or "(no stderr)"
    if not stdout_lines:
        raise PlatformRunError(
            f"`homeval pipeline run` exited with code {returncode} and printed no result; "
            f"last stderr lines:\n{tail}"
        )
    try:
        outcome = parse_outcome(stdout_lines[-1])
    except ContractError as exc:
        if returncode != 0:
            raise PlatformRunError(
                f"`homeval pipeline run` exited with code {returncode} ({exc}); "
                f"last stderr lines:\n{tail}"
            ) from None
        raise PlatformRunError(f"`homeval pipeline run` broke its --json contract: {exc}") from None
    if returncode != 0 or not outcome.succeeded:
        raise PlatformRunError(
            f"pipeline run {outcome.run_id} {outcome.state} (exit code {returncode}); "
            f"last stderr lines:\n{tail}",
            outcome,
        )
    return outcome
