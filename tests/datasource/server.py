"""A real uvicorn server on a loopback port the OS picks, run in a thread for one test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from datasource.app import create_app
from homeval.platform.settings import Settings


@contextmanager
def running(app: Any) -> Iterator[str]:
    """Serve an ASGI app on 127.0.0.1:<free port>; yields its base URL, stops it after."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def running_feed(**settings: Any) -> Iterator[tuple[str, FastAPI]]:
    """The feed simulator with these settings (small batches by default)."""
    options: dict[str, Any] = {"datasource_batch_size": 50, "datasource_batches": 4, **settings}
    app = create_app(Settings(**options))
    with running(app) as url:
        yield url, app
