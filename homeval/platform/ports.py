"""Is a port free to serve on, and if not, who holds it?

A server that finds its port taken fails deep inside uvicorn (``[Errno 98] address already
in use``) after it has logged "serving on ...", and ``homeval up`` took another instance's
answer for its own service being ready.  Every command that starts a server asks here
first and refuses in one line that names the port, the process that holds it (from
Linux's ``/proc``; elsewhere "another process") and the setting that moves it.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import Final

_LISTEN: Final = "0A"
"""TCP state LISTEN in /proc/net/tcp."""


class PortInUseError(RuntimeError):
    """The port a server would bind is taken."""


def port_holder(host: str, port: int) -> str | None:
    """None when ``host:port`` can be bound now; else a description of who holds it.

    Binding with SO_REUSEADDR, as uvicorn does, so a port left in TIME_WAIT by a server
    that just stopped counts as free.  Only "address in use" counts as taken: another
    failure (an address this machine does not have) is the server's own error to report.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return None
            return _listener(port) or "another process"
    return None


def ensure_free(host: str, port: int, setting: str) -> None:
    """PortInUseError naming the port, its holder and ``setting`` when the port is taken."""
    holder = port_holder(host, port)
    if holder is not None:
        raise PortInUseError(
            f"port {port} on {host} is already in use by {holder}; "
            f"stop it, or choose another port with {setting}"
        )


def _listener(port: int) -> str | None:
    """'pid N (command line)' of the process listening on ``port``, when /proc tells."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if (
                len(fields) > 9
                and fields[3] == _LISTEN
                and int(fields[1].rsplit(":", 1)[1], 16) == port
            ):
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:  # another user's process, or gone
            continue
        for fd in fds:
            try:
                target = str(fd.readlink())
            except OSError:
                continue
            if target in inodes:
                return f"pid {entry.name} ({_command(entry)})"
    return None


def _command(entry: Path) -> str:
    try:
        raw = (entry / "cmdline").read_bytes()
    except OSError:
        return "?"
    words = [w.decode("utf-8", "replace") for w in raw.split(b"\0") if w]
    text = " ".join(Path(words[0]).name if i == 0 else w for i, w in enumerate(words))
    return text if len(text) <= 80 else text[:77] + "..."
