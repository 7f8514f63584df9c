"""A taken port is found before a server binds it, with the process that holds it."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from homeval.platform.ports import PortInUseError, ensure_free, port_holder
from tests.conftest import free_port, http_server_on


@contextmanager
def listening(port: int) -> Iterator[socket.socket]:
    with socket.socket() as held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.bind(("127.0.0.1", port))
        held.listen()
        yield held


def test_a_free_port_has_no_holder() -> None:
    assert port_holder("127.0.0.1", free_port()) is None


def test_a_listening_port_names_this_process() -> None:
    port = free_port()
    with listening(port):
        holder = port_holder("127.0.0.1", port)
        assert holder is not None
        assert holder.startswith(f"pid {os.getpid()} (")
        with pytest.raises(PortInUseError) as caught:
            ensure_free("127.0.0.1", port, "HOMEVAL_UI_PORT")
    message = str(caught.value)
    assert f"port {port} on 127.0.0.1 is already in use by pid {os.getpid()}" in message
    assert message.endswith("choose another port with HOMEVAL_UI_PORT")
    assert port_holder("127.0.0.1", port) is None  # closed: free again


def test_the_holder_is_another_process_with_its_command_line() -> None:
    port = free_port()
    with http_server_on(port) as pid:
        holder = port_holder("127.0.0.1", port)
    command = f"{Path(sys.executable).name} -m http.server {port} --bind 127.0.0.1"
    assert holder == f"pid {pid} ({command})"


def test_a_wildcard_bind_is_taken_by_a_loopback_listener() -> None:
    port = free_port()
    with listening(port):
        assert port_holder("0.0.0.0", port) is not None  # noqa: S104 - the probe's bind
