"""A small supervisor for ``homeval up``: start named services, wait until they answer,
and stop every one of them — with everything they started — whatever happens.

Each service runs in its own process group (its own session), so stopping it reaches the
grandchildren too (uvicorn workers, a shell's children), and a Ctrl-C in the terminal
reaches only the supervisor, which then stops the services in reverse order. On Linux a
child also gets SIGTERM if the supervisor dies without cleaning up. Output goes to one
log file per service; when a service fails to come up, the error quotes its last lines.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from homeval.platform.ports import PortInUseError, ensure_free

log = logging.getLogger("homeval.platform.launcher")

_PR_SET_PDEATHSIG = 1


class LaunchError(RuntimeError):
    """A service did not start, did not become ready, or stopped on its own."""


@dataclass(frozen=True)
class Service:
    """How to run one service and how to tell it is ready (an HTTP URL answering < 500)."""

    name: str
    command: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    ready_url: str | None = None
    ready_timeout_s: float = 60.0
    cwd: Path | None = None
    port: tuple[str, int] | None = None
    """(host, port) it binds: checked free before it starts, so another process answering
    there is never taken for this service being ready."""
    port_setting: str = ""
    """The setting that moves ``port``, named when it is taken."""


@dataclass
class Running:
    service: Service
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


def url_answers(url: str, timeout_s: float = 1.0) -> bool:
    """True when something answers ``url`` with a status below 500."""
    try:
        return httpx.get(url, timeout=timeout_s).status_code < 500
    except httpx.HTTPError:
        return False


def check_port(service: Service) -> None:
    """LaunchError naming the port and its holder when ``service``'s port is taken."""
    if service.port is None:
        return
    try:
        ensure_free(*service.port, service.port_setting or "its settings")
    except PortInUseError as exc:
        raise LaunchError(f"{service.name} cannot start: {exc}") from None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log file (empty when there is none)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(handle.tell() - 64_000, 0))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class Supervisor:
    """Starts services, waits for them, stops them all (also as a context manager)."""

    def __init__(self, log_dir: Path, *, poll_s: float = 0.2) -> None:
        self.log_dir = log_dir
        self.poll_s = poll_s
        self.services: dict[str, Running] = {}

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop_all()

    # --- starting ------------------------------------------------------------------------

    def start(self, service: Service) -> Running:
        """Start a service in its own process group; output goes to <log_dir>/<name>.log."""
        if service.name in self.services:
            raise LaunchError(f"service {service.name!r} is already started")
        check_port(service)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{service.name}.log"
        log_file = log_path.open("ab")
        log_file.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(service.command)}\n"
                       .encode())  # fmt: skip
        log_file.flush()
        extra: dict[str, Any] = {}
        if sys.platform.startswith("linux"):
            extra["preexec_fn"] = _die_with_parent
        try:
            process = subprocess.Popen(
                list(service.command),
                env={**os.environ, **service.env},
                cwd=service.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **extra,
            )
        except OSError as exc:
            log_file.close()
            raise LaunchError(f"cannot start {service.name}: {exc}") from exc
        running = Running(service, process, log_path, log_file)
        self.services[service.name] = running
        log.info("started %s (pid %d), log %s", service.name, process.pid, log_path)
        return running

    def wait_ready(self, name: str) -> None:
        """Block until the service's ready URL answers; LaunchError (with its log) if not."""
        running = self.services[name]
        url = running.service.ready_url
        deadline = time.monotonic() + running.service.ready_timeout_s
        while True:
            code = running.process.poll()
            if code is not None:
                raise LaunchError(self._story(running, f"exited with code {code} before ready"))
            if url is None or url_answers(url):
                return
            if time.monotonic() > deadline:
                raise LaunchError(self._story(
                    running, f"did not answer {url} within {running.service.ready_timeout_s:g} s"
                ))  # fmt: skip
            time.sleep(self.poll_s)

    def start_ready(self, service: Service) -> Running:
        running = self.start(service)
        self.wait_ready(service.name)
        return running

    def _story(self, running: Running, what: str) -> str:
        running.log_file.flush()
        last = tail(running.log_path)
        lines = f"\n--- last lines of {running.log_path} ---\n{last}" if last else ""
        return f"{running.service.name} {what}{lines}"

    # --- watching ------------------------------------------------------------------------

    def pids(self) -> dict[str, int]:
        return {name: r.pid for name, r in self.services.items()}

    def check(self) -> None:
        """LaunchError if a service stopped on its own."""
        for running in self.services.values():
            code = running.process.poll()
            if code is not None:
                raise LaunchError(self._story(running, f"stopped unexpectedly (code {code})"))

    def watch(self, until: float | None = None) -> None:
        """Block while every service runs (until the deadline, when given)."""
        while until is None or time.monotonic() < until:
            self.check()
            time.sleep(self.poll_s)

    # --- stopping ------------------------------------------------------------------------

    def stop_all(self, timeout_s: float = 10.0) -> None:
        """Stop services in reverse start order: SIGTERM to each group, then SIGKILL."""
        for name in reversed(list(self.services)):
            self.stop(name, timeout_s)

    def stop(self, name: str, timeout_s: float = 10.0) -> None:
        running = self.services.pop(name, None)
        if running is None:
            return
        group = running.pid  # the child leads its own session and group
        _signal_group(group, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _group_alive(group, running.process) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _group_alive(group, running.process):
            log.warning("%s did not stop in %g s; killing it", name, timeout_s)
            _signal_group(group, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                running.process.wait(timeout=5)
        running.log_file.close()
        log.info("stopped %s (code %s)", name, running.process.returncode)


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, sig)


def _group_alive(group: int, leader: subprocess.Popen[bytes]) -> bool:
    leader.poll()  # reap the leader so it does not linger as a zombie
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return leader.returncode is None or _has_live_members(group)


def _has_live_members(group: int) -> bool:
    """Group members other than zombies (Linux /proc; elsewhere assume they live)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False


@contextlib.contextmanager
def signals_raise_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C inside the block, so cleanup code runs for both."""

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
